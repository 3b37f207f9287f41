package ring

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

var testNow = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)

func discardLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// inst builds a healthy ACTIVE instance heartbeating at testNow; opts adjust it.
func inst(id, zone string, tokens ...uint32) InstanceDesc {
	return InstanceDesc{
		ID: id, Addr: id + ":9095", Zone: zone, State: Active, Tokens: tokens,
		RegisteredTimestamp: testNow.Add(-time.Hour).UnixMilli(), Timestamp: testNow.UnixMilli(),
	}
}

func withState(i InstanceDesc, s InstanceState) InstanceDesc { i.State = s; return i }

func stale(i InstanceDesc) InstanceDesc {
	i.Timestamp = testNow.Add(-2 * time.Minute).UnixMilli()
	return i
}

func descOf(instances ...InstanceDesc) *Desc {
	d := NewDesc()
	for _, i := range instances {
		d.AddInstance(i)
	}
	return d
}

// testRing returns a started Ring over a MemoryKV holding d, with its clock at
// testNow.
func testRing(t *testing.T, cfg Config, d *Desc) *Ring {
	t.Helper()
	kv := NewMemoryKV()
	kv.Merge(IngesterRingKey, d)
	r, err := NewRing(cfg, IngesterRingKey, kv, discardLogger(), nil)
	if err != nil {
		t.Fatal(err)
	}
	r.now = func() time.Time { return testNow }
	if err := r.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.Stop)
	return r
}

func defaultConfig() Config {
	return Config{HeartbeatTimeout: time.Minute, ReplicationFactor: 3}
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func ids(instances []InstanceDesc) []string {
	out := make([]string, len(instances))
	for i := range instances {
		out[i] = instances[i].ID
	}
	return out
}
