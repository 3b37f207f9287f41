package ring

import (
	"context"
	"errors"
	"flag"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

func testLifecyclerConfig() LifecyclerConfig {
	return LifecyclerConfig{
		Ring:                 Config{HeartbeatTimeout: time.Minute, ReplicationFactor: 3},
		NumTokens:            16,
		HeartbeatPeriod:      5 * time.Millisecond,
		Addr:                 "127.0.0.1",
		Port:                 9095,
		UnregisterOnShutdown: true,
	}
}

func newTestLifecycler(t *testing.T, cfg LifecyclerConfig, id string, kv KV, flush FlushFunc) *Lifecycler {
	t.Helper()
	l, err := NewLifecycler(cfg, id, IngesterRingKey, kv, flush, discardLogger(), nil)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// recordingKV records the state of one instance after every update.
type recordingKV struct {
	*MemoryKV
	id string

	mu     sync.Mutex
	states []string
}

func (r *recordingKV) CAS(ctx context.Context, key string, f func(*Desc) (*Desc, error)) error {
	return r.MemoryKV.CAS(ctx, key, func(in *Desc) (*Desc, error) {
		out, err := f(in)
		if out != nil {
			if e, ok := out.Instances[r.id]; ok {
				r.mu.Lock()
				s := e.State.String() + "/" + strconv.Itoa(len(e.Tokens))
				if n := len(r.states); n == 0 || r.states[n-1] != s {
					r.states = append(r.states, s)
				}
				r.mu.Unlock()
			}
		}
		return out, err
	})
}

func TestLifecyclerStateTransitions(t *testing.T) {
	kv := &recordingKV{MemoryKV: NewMemoryKV(), id: "ing-1"}
	ctx := context.Background()
	var duringFlush InstanceState = -1
	l := newTestLifecycler(t, testLifecyclerConfig(), "ing-1", kv, func(ctx context.Context) error {
		d, _ := kv.Get(ctx, IngesterRingKey)
		duringFlush = d.Instances["ing-1"].State
		return nil
	})
	if err := l.CheckReady(); err == nil {
		t.Fatal("ready before Start")
	}
	if err := l.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if l.State() != Active || len(l.Tokens()) != 16 || l.CheckReady() != nil {
		t.Fatalf("after Start: state %s, %d tokens, ready %v", l.State(), len(l.Tokens()), l.CheckReady())
	}
	// Heartbeats move the timestamp.
	d, _ := kv.Get(ctx, IngesterRingKey)
	first := d.Instances["ing-1"].Timestamp
	waitFor(t, "a heartbeat", func() bool {
		d, _ := kv.Get(ctx, IngesterRingKey)
		return d.Instances["ing-1"].Timestamp > first
	})
	if err := l.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	if duringFlush != Leaving {
		t.Fatalf("state during flush %s, want LEAVING", duringFlush)
	}
	want := []string{"JOINING/0", "ACTIVE/16", "LEAVING/16", "LEFT/0"}
	if !slices.Equal(kv.states, want) {
		t.Fatalf("transitions %v, want %v", kv.states, want)
	}
	if l.Stop(ctx) != nil {
		t.Fatal("second Stop failed")
	}
}

func TestLifecyclersShareTheRing(t *testing.T) {
	kv := NewMemoryKV()
	ctx := context.Background()
	r, err := NewRing(testLifecyclerConfig().Ring, IngesterRingKey, kv, discardLogger(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer r.Stop()

	var ls []*Lifecycler
	for i := range 3 {
		cfg := testLifecyclerConfig()
		cfg.Port = 9095 + i
		cfg.Zone = "zone-" + strconv.Itoa(i)
		l := newTestLifecycler(t, cfg, "ing-"+strconv.Itoa(i), kv, nil)
		if err := l.Start(ctx); err != nil {
			t.Fatal(err)
		}
		ls = append(ls, l)
	}
	waitFor(t, "three active instances", func() bool {
		rs, err := r.GetAllHealthy(Write)
		return err == nil && len(rs.Instances) == 3
	})
	d := r.Desc()
	var all []uint32
	for _, l := range ls {
		e := d.Instances[l.ID()]
		if e.Addr != l.Addr() || e.Zone != l.Zone() || !slices.Equal(e.Tokens, l.Tokens()) {
			t.Fatalf("ring entry %+v does not match the lifecycler", e)
		}
		all = append(all, e.Tokens...)
	}
	slices.Sort(all)
	if len(slices.Compact(all)) != 48 {
		t.Fatal("tokens not unique across the ring")
	}
	rs, err := r.Get(12345, Write)
	if err != nil || len(rs.Instances) != 3 || rs.MaxErrors != 1 {
		t.Fatalf("Get: %v %v", rs, err)
	}

	if err := ls[1].Stop(ctx); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "two instances", func() bool { return r.InstancesCount() == 2 })
	for _, l := range []*Lifecycler{ls[0], ls[2]} {
		if err := l.Stop(ctx); err != nil {
			t.Fatal(err)
		}
	}
}

func TestLifecyclerRestartKeepsTokens(t *testing.T) {
	kv := NewMemoryKV()
	ctx := context.Background()
	cfg := testLifecyclerConfig()
	cfg.UnregisterOnShutdown = false
	l := newTestLifecycler(t, cfg, "ing-1", kv, nil)
	if err := l.Start(ctx); err != nil {
		t.Fatal(err)
	}
	tokens := l.Tokens()
	if err := l.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	d, _ := kv.Get(ctx, IngesterRingKey)
	left := d.Instances["ing-1"]
	if left.State != Leaving || !slices.Equal(left.Tokens, tokens) {
		t.Fatalf("without unregistering the entry should stay LEAVING with its tokens: %+v", left)
	}

	l2 := newTestLifecycler(t, testLifecyclerConfig(), "ing-1", kv, nil)
	if err := l2.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer l2.Stop(ctx)
	d, _ = kv.Get(ctx, IngesterRingKey)
	back := d.Instances["ing-1"]
	if back.State != Active || !slices.Equal(back.Tokens, tokens) || back.RegisteredTimestamp != left.RegisteredTimestamp {
		t.Fatalf("restart: %+v, want ACTIVE with tokens and registration of %+v", back, left)
	}
}

func TestLifecyclerRestartAddsMissingTokens(t *testing.T) {
	kv := NewMemoryKV()
	ctx := context.Background()
	kv.Merge(IngesterRingKey, descOf(withState(inst("ing-1", "", 7, 8), Joining)))
	l := newTestLifecycler(t, testLifecyclerConfig(), "ing-1", kv, nil)
	if err := l.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer l.Stop(ctx)
	tokens := l.Tokens()
	if len(tokens) != 16 || !slices.Contains(tokens, 7) || !slices.Contains(tokens, 8) {
		t.Fatalf("tokens %v: want 16 including 7 and 8", tokens)
	}
}

func TestLifecyclerComesBackWhenForgotten(t *testing.T) {
	kv := NewMemoryKV()
	ctx := context.Background()
	l := newTestLifecycler(t, testLifecyclerConfig(), "ing-1", kv, nil)
	if err := l.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer l.Stop(ctx)
	err := kv.CAS(ctx, IngesterRingKey, func(d *Desc) (*Desc, error) {
		d.Remove("ing-1", time.Now())
		return d, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the instance back in the ring", func() bool {
		d, _ := kv.Get(ctx, IngesterRingKey)
		e := d.Instances["ing-1"]
		return e.State == Active && slices.Equal(e.Tokens, l.Tokens())
	})
}

func TestLifecyclerReplacesLostTokens(t *testing.T) {
	kv := NewMemoryKV()
	ctx := context.Background()
	l := newTestLifecycler(t, testLifecyclerConfig(), "ing-1", kv, nil)
	if err := l.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer l.Stop(ctx)
	stolen := l.Tokens()[3]
	// An instance registered earlier claims one of our tokens: it keeps it.
	rival := inst("ing-0", "", stolen)
	rival.RegisteredTimestamp = 1
	rival.Timestamp = time.Now().UnixMilli()
	kv.Merge(IngesterRingKey, descOf(rival))
	waitFor(t, "the lost token replaced", func() bool {
		tokens := l.Tokens()
		return len(tokens) == 16 && !slices.Contains(tokens, stolen)
	})
	waitFor(t, "the ring entry updated", func() bool {
		d, _ := kv.Get(ctx, IngesterRingKey)
		return !slices.Contains(d.Instances["ing-1"].Tokens, stolen)
	})
}

func TestLifecyclerStopReportsFlushError(t *testing.T) {
	kv := NewMemoryKV()
	ctx := context.Background()
	boom := errors.New("disk on fire")
	l := newTestLifecycler(t, testLifecyclerConfig(), "ing-1", kv, func(context.Context) error { return boom })
	if err := l.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if err := l.Stop(ctx); !errors.Is(err, boom) {
		t.Fatalf("Stop: %v, want the flush error", err)
	}
	d, _ := kv.Get(ctx, IngesterRingKey)
	if d.Instances["ing-1"].State != Left {
		t.Fatal("instance not removed after a failed flush")
	}
}

func TestLifecyclerConfig(t *testing.T) {
	var cfg LifecyclerConfig
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	cfg.RegisterFlags(fs)
	if err := fs.Parse(nil); err != nil {
		t.Fatal(err)
	}
	if cfg.NumTokens != 128 || cfg.HeartbeatPeriod != 5*time.Second || cfg.Ring.HeartbeatTimeout != time.Minute ||
		cfg.Ring.ReplicationFactor != 3 || !cfg.UnregisterOnShutdown || cfg.Ring.ZoneAwarenessEnabled {
		t.Fatalf("defaults: %+v", cfg)
	}
	err := fs.Parse([]string{"-ingester.heartbeat-period=7s", "-ingester.availability-zone=z1",
		"-ingester.lifecycler.interface=eth1, eth2", "-distributor.replication-factor=1"})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.HeartbeatPeriod != 7*time.Second || cfg.Zone != "z1" || !slices.Equal(cfg.InterfaceNames, []string{"eth1", "eth2"}) ||
		cfg.Ring.ReplicationFactor != 1 {
		t.Fatalf("parsed: %+v", cfg)
	}

	for _, tt := range []struct {
		name   string
		change func(*LifecyclerConfig)
		err    string
	}{
		{"ok", func(*LifecyclerConfig) {}, ""},
		{"no tokens", func(c *LifecyclerConfig) { c.NumTokens = 0 }, "num-tokens"},
		{"no heartbeat", func(c *LifecyclerConfig) { c.HeartbeatPeriod = 0 }, "heartbeat-period"},
		{"rf 0", func(c *LifecyclerConfig) { c.Ring.ReplicationFactor = 0 }, "replication-factor"},
		{"store", func(c *LifecyclerConfig) { c.Ring.KVStore.Store = "consul" }, "unsupported store"},
		{"port", func(c *LifecyclerConfig) { c.Port = 70000 }, "out of range"},
	} {
		c := testLifecyclerConfig()
		tt.change(&c)
		err := c.Validate()
		if (tt.err == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tt.err)) {
			t.Errorf("%s: %v", tt.name, err)
		}
	}
}

func TestAdvertisedAddr(t *testing.T) {
	c := testLifecyclerConfig()
	if got, err := c.AdvertisedAddr(); err != nil || got != "127.0.0.1:9095" {
		t.Fatalf("%q %v", got, err)
	}
	c.Addr = "::1"
	if got, _ := c.AdvertisedAddr(); got != "[::1]:9095" {
		t.Fatalf("IPv6: %q", got)
	}
	c.Port = 0
	if _, err := c.AdvertisedAddr(); err == nil {
		t.Fatal("port 0 accepted")
	}
	c = testLifecyclerConfig()
	c.Addr = ""
	c.InterfaceNames = []string{"no-such-interface"}
	if _, err := c.AdvertisedAddr(); err == nil {
		t.Fatal("missing interface accepted")
	}
	c.InterfaceNames = nil
	got, err := c.AdvertisedAddr()
	if err != nil || !strings.HasSuffix(got, ":9095") || strings.HasPrefix(got, ":") {
		t.Fatalf("detected address %q %v", got, err)
	}
}
