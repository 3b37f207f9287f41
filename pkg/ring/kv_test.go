package ring

import (
	"context"
	"errors"
	"strconv"
	"sync"
	"testing"
)

func TestMemoryKVCAS(t *testing.T) {
	ctx := context.Background()
	kv := NewMemoryKV()
	d, err := kv.Get(ctx, "k")
	if err != nil || len(d.Instances) != 0 {
		t.Fatalf("empty key: %v %v", d, err)
	}
	add := func(in InstanceDesc) func(*Desc) (*Desc, error) {
		return func(d *Desc) (*Desc, error) { d.AddInstance(in); return d, nil }
	}
	if err := kv.CAS(ctx, "k", add(inst("a", "", 1))); err != nil {
		t.Fatal(err)
	}
	// f returning nil changes nothing; an error is returned as is.
	if err := kv.CAS(ctx, "k", func(d *Desc) (*Desc, error) { d.Instances = nil; return nil, nil }); err != nil {
		t.Fatal(err)
	}
	boom := errors.New("boom")
	if err := kv.CAS(ctx, "k", func(d *Desc) (*Desc, error) { d.AddInstance(inst("x", "")); return d, boom }); !errors.Is(err, boom) {
		t.Fatalf("err = %v", err)
	}
	// An older entry loses to the stored one: CAS merges, it does not overwrite.
	older := inst("a", "", 2)
	older.Timestamp--
	if err := kv.CAS(ctx, "k", add(older)); err != nil {
		t.Fatal(err)
	}
	d, _ = kv.Get(ctx, "k")
	if len(d.Instances) != 1 || d.Instances["a"].Tokens[0] != 1 {
		t.Fatalf("got %v", d)
	}
	// Get hands out copies.
	d.Instances["a"].Tokens[0] = 42
	d2, _ := kv.Get(ctx, "k")
	if d2.Instances["a"].Tokens[0] != 1 {
		t.Fatal("Get shares memory with the store")
	}
	// Keys are separate.
	if other, _ := kv.Get(ctx, "other"); len(other.Instances) != 0 {
		t.Fatal("keys not separate")
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := kv.Get(cancelled, "k"); err == nil {
		t.Fatal("Get with a cancelled context succeeded")
	}
}

func TestMemoryKVConcurrentUpdatesAllSurvive(t *testing.T) {
	kv := NewMemoryKV()
	var wg sync.WaitGroup
	for i := range 50 {
		wg.Go(func() {
			in := inst("i"+strconv.Itoa(i), "", uint32(i))
			_ = kv.CAS(context.Background(), "k", func(d *Desc) (*Desc, error) { d.AddInstance(in); return d, nil })
		})
	}
	wg.Wait()
	d, _ := kv.Get(context.Background(), "k")
	if len(d.Instances) != 50 {
		t.Fatalf("%d instances, want 50", len(d.Instances))
	}
}

func TestMemoryKVWatch(t *testing.T) {
	kv := NewMemoryKV()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	seen := make(chan int, 100)
	done := make(chan struct{})
	go func() {
		defer close(done)
		kv.Watch(ctx, "k", func(d *Desc) bool {
			seen <- len(d.Instances)
			return len(d.Instances) < 3
		})
	}()
	if n := <-seen; n != 0 {
		t.Fatalf("first call saw %d instances", n)
	}
	for i := range 3 {
		kv.Merge("k", descOf(inst(strconv.Itoa(i), "")))
		kv.Merge("other", descOf(inst(strconv.Itoa(i), ""))) // another key: no call
	}
	// Calls are coalesced, but the last one sees all three and stops Watch.
	for n := range seen {
		if n == 3 {
			break
		}
	}
	<-done

	// Cancelling the context ends a Watch that waits for changes.
	ctx2, cancel2 := context.WithCancel(context.Background())
	done2 := make(chan struct{})
	go func() {
		defer close(done2)
		kv.Watch(ctx2, "k", func(*Desc) bool { return true })
	}()
	cancel2()
	<-done2
}
