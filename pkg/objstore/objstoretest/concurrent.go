package objstoretest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"testing"

	"github.com/skald-logs/skald/pkg/objstore"
)

// testConcurrent runs writers and readers at once. Writers put their own
// keys and overwrite one shared key with two versions; readers of the shared
// key must always see one whole version (Put is atomic).
func testConcurrent(t *testing.T, b objstore.Bucket) {
	ctx := context.Background()
	const (
		writers       = 4
		keysPerWriter = 6
		readers       = 4
		reads         = 8
	)
	shared := "index/fake/shared"
	versions := [][]byte{bytes.Repeat([]byte{'A'}, 300_000), bytes.Repeat([]byte{'B'}, 200_000)}
	mustPut(t, b, shared, versions[0])

	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for i := range keysPerWriter {
				key := fmt.Sprintf("chunks/fake/w%d/%02d", w, i)
				data := randomBytes(uint64(w*100+i), 50_000+i)
				if err := b.Put(ctx, key, bytes.NewReader(data), int64(len(data))); err != nil {
					t.Errorf("Put(%q): %v", key, err)
					return
				}
				v := versions[(w+i)%2]
				if err := b.Put(ctx, shared, bytes.NewReader(v), int64(len(v))); err != nil {
					t.Errorf("Put(%q): %v", shared, err)
					return
				}
			}
		})
	}
	for range readers {
		wg.Go(func() {
			for range reads {
				got, err := objstore.GetAll(ctx, b, shared)
				if err != nil {
					t.Errorf("GetAll(%q): %v", shared, err)
					return
				}
				if !bytes.Equal(got, versions[0]) && !bytes.Equal(got, versions[1]) {
					t.Errorf("GetAll(%q) = %d bytes that are neither version", shared, len(got))
					return
				}
				rc, err := b.GetRange(ctx, shared, 100_000, 150_000)
				if err != nil {
					t.Errorf("GetRange(%q): %v", shared, err)
					return
				}
				part, err := readAll(rc)
				if err != nil {
					t.Errorf("reading GetRange(%q): %v", shared, err)
					return
				}
				if !bytes.Equal(part, versions[0][100_000:250_000]) && !bytes.Equal(part, versions[1][100_000:200_000]) {
					t.Errorf("GetRange(%q) = %d bytes that are no range of either version", shared, len(part))
					return
				}
			}
		})
	}
	wg.Go(func() {
		for range reads {
			if err := b.List(ctx, "chunks", func(string) error { return nil }); err != nil {
				t.Errorf("List: %v", err)
				return
			}
		}
	})
	wg.Wait()
	if t.Failed() {
		return
	}
	n := 0
	err := b.List(ctx, "chunks/fake", func(key string) error {
		var w, i int
		if _, err := fmt.Sscanf(key, "chunks/fake/w%d/%02d", &w, &i); err != nil {
			return fmt.Errorf("unexpected key %q", key)
		}
		if got := mustGet(t, b, key); !bytes.Equal(got, randomBytes(uint64(w*100+i), 50_000+i)) {
			t.Errorf("%s: content differs", key)
		}
		n++
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n != writers*keysPerWriter {
		t.Errorf("listed %d keys, want %d", n, writers*keysPerWriter)
	}
}

func testContextCanceled(t *testing.T, b objstore.Bucket) {
	key := "chunks/fake/present"
	mustPut(t, b, key, []byte("present"))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()

	if _, err := b.Get(ctx, key); !errors.Is(err, context.Canceled) {
		t.Errorf("Get error = %v, want context.Canceled", err)
	}
	if _, err := b.GetRange(ctx, key, 0, 3); !errors.Is(err, context.Canceled) {
		t.Errorf("GetRange error = %v, want context.Canceled", err)
	}
	if _, err := b.Attributes(ctx, key); !errors.Is(err, context.Canceled) {
		t.Errorf("Attributes error = %v, want context.Canceled", err)
	}
	if err := b.Put(ctx, "chunks/fake/new", bytes.NewReader([]byte("new")), 3); !errors.Is(err, context.Canceled) {
		t.Errorf("Put error = %v, want context.Canceled", err)
	}
	if err := b.List(ctx, "", func(string) error { return nil }); !errors.Is(err, context.Canceled) {
		t.Errorf("List error = %v, want context.Canceled", err)
	}
	if err := b.Delete(ctx, key); !errors.Is(err, context.Canceled) {
		t.Errorf("Delete error = %v, want context.Canceled", err)
	}
	wantNotFound(t, b, "chunks/fake/new")
	if got := mustGet(t, b, key); string(got) != "present" {
		t.Errorf("after cancelled calls %q = %q", key, got)
	}
}

// cancelingReader cancels a context after yielding its first n bytes.
type cancelingReader struct {
	r      io.Reader
	n      int
	cancel context.CancelFunc
}

func (c *cancelingReader) Read(p []byte) (int, error) {
	if c.n <= 0 {
		c.cancel()
	}
	p = p[:min(len(p), max(c.n, 1))]
	n, err := c.r.Read(p)
	c.n -= n
	return n, err
}

// testCancelDuringPut cancels the context while Put reads the body: Put must
// fail and leave no object.
func testCancelDuringPut(t *testing.T, b objstore.Bucket) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	data := randomBytes(10, 500_000)
	r := &cancelingReader{r: bytes.NewReader(data), n: 100_000, cancel: cancel}
	key := "chunks/fake/cancelled"
	if err := b.Put(ctx, key, r, int64(len(data))); !errors.Is(err, context.Canceled) {
		t.Errorf("Put error = %v, want context.Canceled", err)
	}
	wantNotFound(t, b, key)
}
