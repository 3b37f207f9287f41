package memberlist

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"slices"
	"strconv"
	"testing"
	"time"

	ml "github.com/hashicorp/memberlist"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"go.uber.org/goleak"

	"github.com/skald-logs/skald/pkg/ring"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

func discardLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// testConfig gossips fast on 127.0.0.1 with a random port.
func testConfig(join ...string) Config {
	return Config{
		JoinMembers:          join,
		BindAddr:             []string{"127.0.0.1"},
		RandomizeNodeName:    true,
		NodeName:             "test",
		GossipInterval:       20 * time.Millisecond,
		GossipNodes:          3,
		PushPullInterval:     time.Second,
		RetransmitMult:       4,
		LeftIngestersTimeout: time.Minute,
		LeaveTimeout:         2 * time.Second,
		MinJoinBackoff:       20 * time.Millisecond,
		MaxJoinBackoff:       100 * time.Millisecond,
	}
}

// fastFailureDetection makes memberlist notice dead members in a fraction of
// a second instead of seconds.
func fastFailureDetection(c *ml.Config) {
	c.ProbeInterval = 50 * time.Millisecond
	c.ProbeTimeout = 25 * time.Millisecond
	c.SuspicionMult = 1
	c.TCPTimeout = 500 * time.Millisecond
	c.GossipToTheDeadTime = 200 * time.Millisecond
}

func startKV(t *testing.T, cfg Config) *KV {
	t.Helper()
	kv, err := New(cfg, discardLogger(), nil)
	if err != nil {
		t.Fatal(err)
	}
	kv.tune = fastFailureDetection
	if err := kv.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = kv.Stop() })
	return kv
}

// startCluster starts n KVs, the first alone and the others joining it.
func startCluster(t *testing.T, n int, mod func(*Config)) []*KV {
	t.Helper()
	cfg := testConfig()
	if mod != nil {
		mod(&cfg)
	}
	kvs := []*KV{startKV(t, cfg)}
	for range n - 1 {
		c := cfg
		c.JoinMembers = []string{kvs[0].Addr()}
		kvs = append(kvs, startKV(t, c))
	}
	waitFor(t, "every member to see the others", func() bool {
		for _, kv := range kvs {
			if kv.NumMembers() != n {
				return false
			}
		}
		return true
	})
	return kvs
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func get(t *testing.T, kv *KV) *ring.Desc {
	t.Helper()
	d, err := kv.Get(context.Background(), ring.IngesterRingKey)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// TestGossipRing runs lifecyclers on three of four gossiping members and
// follows the ring through a graceful leave and a crash.
func TestGossipRing(t *testing.T) {
	kvs := startCluster(t, 4, nil)
	ringCfg := ring.Config{HeartbeatTimeout: 400 * time.Millisecond, ReplicationFactor: 3}

	// A ring reader on the member without an ingester, as a distributor has.
	reader, err := ring.NewRing(ringCfg, ring.IngesterRingKey, kvs[3], discardLogger(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := reader.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer reader.Stop()

	var lcs []*ring.Lifecycler
	for i := range 3 {
		cfg := ring.LifecyclerConfig{
			Ring: ringCfg, NumTokens: 32, HeartbeatPeriod: 25 * time.Millisecond,
			Addr: "127.0.0.1", Port: 9095 + i, Zone: "zone-" + strconv.Itoa(i), UnregisterOnShutdown: true,
		}
		l, err := ring.NewLifecycler(cfg, "ingester-"+strconv.Itoa(i), ring.IngesterRingKey, kvs[i], nil, discardLogger(), nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := l.Start(context.Background()); err != nil {
			t.Fatal(err)
		}
		lcs = append(lcs, l)
	}
	defer func() {
		for _, l := range lcs {
			_ = l.Stop(context.Background())
		}
	}()

	waitFor(t, "every member to see three ACTIVE instances with their tokens", func() bool {
		for _, kv := range kvs {
			d := get(t, kv)
			for _, l := range lcs {
				e, ok := d.Instances[l.ID()]
				if !ok || e.State != ring.Active || e.Addr != l.Addr() || e.Zone != l.Zone() || !slices.Equal(e.Tokens, l.Tokens()) {
					return false
				}
			}
		}
		return true
	})
	waitFor(t, "the reader to see three instances", func() bool { return reader.InstancesCount() == 3 })
	// Polled: on a loaded machine a heartbeat may arrive late.
	waitFor(t, "a replication set of three with one error allowed", func() bool {
		rs, err := reader.Get(ring.TokenFor("fake", 42), ring.WriteNoExtend)
		return err == nil && len(rs.Instances) == 3 && rs.MaxErrors == 1
	})

	// Graceful stop of ingester-0: LEAVING, then a tombstone, then the member
	// leaves the cluster.
	if err := lcs[0].Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := kvs[0].Stop(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the others to see ingester-0 leave", func() bool {
		for _, kv := range kvs[1:] {
			if get(t, kv).Instances["ingester-0"].State != ring.Left || kv.NumMembers() != 3 {
				return false
			}
		}
		return true
	})
	waitFor(t, "the reader to drop ingester-0", func() bool { return reader.InstancesCount() == 2 })

	// Crash of the member of ingester-1: no leave, no last words. Its entry
	// stays ACTIVE but turns UNHEALTHY once its heartbeat is older than the
	// timeout.
	kvs[1].kill()
	waitFor(t, "ingester-1 to become unhealthy", func() bool {
		rs, err := reader.GetAllHealthy(ring.Reporting)
		return err == nil && slices.Equal(instanceIDs(rs), []string{"ingester-2"})
	})
	for _, kv := range []*KV{kvs[2], kvs[3]} {
		e := get(t, kv).Instances["ingester-1"]
		if e.State != ring.Active || len(e.Tokens) != 32 {
			t.Fatalf("a crashed instance keeps its entry: %+v", e)
		}
		if e.IsHeartbeatHealthy(ringCfg.HeartbeatTimeout, time.Now()) {
			t.Fatalf("ingester-1 still healthy: last heartbeat %v", e.HeartbeatTime())
		}
	}
	// Two instances remain for RF 3, one of them dead: below the quorum of 2.
	want := "at least 2 live replicas required, could only find 1 - unhealthy instances: 127.0.0.1:9096"
	waitFor(t, "writes to fail for want of a quorum", func() bool {
		_, err := reader.Get(ring.TokenFor("fake", 42), ring.WriteNoExtend)
		return errors.Is(err, ring.ErrTooManyUnhealthyInstances) && err.Error() == want
	})

	if err := lcs[1].Stop(context.Background()); !errors.Is(err, ring.ErrKVStopped) {
		t.Fatalf("stopping the lifecycler of a dead KV: %v", err)
	}
}

func instanceIDs(rs ring.ReplicationSet) []string {
	out := make([]string, len(rs.Instances))
	for i := range rs.Instances {
		out[i] = rs.Instances[i].ID
	}
	slices.Sort(out)
	return out
}

// TestLargeEntryGoesOverTCP sends an entry larger than a UDP packet: it
// arrives by the TCP path, long before the next push/pull.
func TestLargeEntryGoesOverTCP(t *testing.T) {
	kvs := startCluster(t, 3, func(c *Config) { c.PushPullInterval = time.Hour })
	big := ring.InstanceDesc{ID: "big", Addr: "x:1", State: ring.Active, Tokens: ring.GenerateTokens(2000, nil), Timestamp: time.Now().UnixMilli()}
	small := ring.InstanceDesc{ID: "small", Addr: "y:1", State: ring.Active, Tokens: []uint32{1, 2, 3}, Timestamp: time.Now().UnixMilli()}
	err := kvs[0].CAS(context.Background(), ring.IngesterRingKey, func(d *ring.Desc) (*ring.Desc, error) {
		d.AddInstance(big)
		d.AddInstance(small)
		return d, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "both entries everywhere", func() bool {
		for _, kv := range kvs[1:] {
			d := get(t, kv)
			if len(d.Instances["big"].Tokens) != 2000 || len(d.Instances["small"].Tokens) != 3 {
				return false
			}
		}
		return true
	})
	if n := testutil.ToFloat64(kvs[0].m.reliableSent); n < 1 {
		t.Fatalf("big entry not sent over TCP (%v sends)", n)
	}
	if n := testutil.ToFloat64(kvs[0].m.broadcasts); n != 1 {
		t.Fatalf("%v UDP broadcasts queued, want 1 (the small entry)", n)
	}
}

// TestJoinStateExchange: a member that joins late gets the whole ring in the
// join's push/pull, with nothing broadcast.
func TestJoinStateExchange(t *testing.T) {
	a := startKV(t, testConfig())
	d := ring.NewDesc()
	d.AddInstance(ring.InstanceDesc{ID: "old", Addr: "o:1", State: ring.Active, Tokens: []uint32{7}, Timestamp: 1})
	d.Remove("old", time.Now()) // a tombstone travels too
	d.AddInstance(ring.InstanceDesc{ID: "live", Addr: "l:1", State: ring.Active, Tokens: []uint32{9}, Timestamp: time.Now().UnixMilli()})
	if err := a.CAS(context.Background(), "other-ring", func(*ring.Desc) (*ring.Desc, error) { return d, nil }); err != nil {
		t.Fatal(err)
	}
	b := startKV(t, testConfig(a.Addr()))
	waitFor(t, "the joiner to have the ring", func() bool {
		got, err := b.Get(context.Background(), "other-ring")
		return err == nil && got.Equal(d)
	})
	if !b.Joined() {
		t.Fatal("Joined() false after joining")
	}
}

// TestJoinRetries: the member to join comes up after the joiner started.
func TestJoinRetries(t *testing.T) {
	port := freePort(t)
	b := startKV(t, testConfig("127.0.0.1:"+strconv.Itoa(port)))
	time.Sleep(50 * time.Millisecond) // let a join attempt fail first; not an assertion
	if b.Joined() {
		t.Fatal("joined a member that does not exist")
	}
	cfg := testConfig()
	cfg.BindPort = port
	a := startKV(t, cfg)
	waitFor(t, "the retried join", func() bool { return b.Joined() && a.NumMembers() == 2 })
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	_ = l.Close()
	return port
}

func TestStoppedKV(t *testing.T) {
	kv := startKV(t, testConfig())
	ctx := context.Background()
	watched := make(chan struct{})
	go func() {
		defer close(watched)
		kv.Watch(ctx, ring.IngesterRingKey, func(*ring.Desc) bool { return true })
	}()
	if err := kv.Stop(); err != nil {
		t.Fatal(err)
	}
	<-watched // Watch returns when the KV stops
	if _, err := kv.Get(ctx, ring.IngesterRingKey); !errors.Is(err, ring.ErrKVStopped) {
		t.Fatalf("Get after Stop: %v", err)
	}
	err := kv.CAS(ctx, ring.IngesterRingKey, func(d *ring.Desc) (*ring.Desc, error) { return d, nil })
	if !errors.Is(err, ring.ErrKVStopped) {
		t.Fatalf("CAS after Stop: %v", err)
	}
	if kv.Stop() != nil {
		t.Fatal("second Stop failed")
	}
}

func TestInvalidGossipIsDropped(t *testing.T) {
	kv := startKV(t, testConfig())
	d := (*delegate)(kv)
	d.NotifyMsg([]byte{9, 9, 9})
	d.MergeRemoteState([]byte{1, 5}, false)
	if n := testutil.ToFloat64(kv.m.invalid); n != 2 {
		t.Fatalf("%v invalid messages counted, want 2", n)
	}
	msg, _ := appendMessage(nil, "k", testDesc("a"))
	d.NotifyMsg(msg)
	if got, _ := kv.Get(context.Background(), "k"); len(got.Instances) != 1 {
		t.Fatal("valid message not merged")
	}
}
