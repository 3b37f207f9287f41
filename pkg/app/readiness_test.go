package app

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/skald-logs/skald/pkg/ring"
)

// TestDistributorReadiness: a distributor or querier is ready once the
// ring shows an ACTIVE, healthy ingester.
func TestDistributorReadiness(t *testing.T) {
	for _, target := range []string{"distributor", "querier", "distributor,querier"} {
		t.Run(target, func(t *testing.T) {
			cfg, err := Load([]string{"-target=" + target, "-ring.store=inmemory", "-common.path-prefix=" + t.TempDir()})
			if err != nil {
				t.Fatal(err)
			}
			a, err := New(cfg, slog.New(slog.DiscardHandler))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { a.stopCluster(); a.closeAll() })
			if err := a.ring.Start(context.Background()); err != nil {
				t.Fatal(err)
			}
			ready := func() error { return readiness{a}.Ready(context.Background()) }
			if err := ready(); err == nil || !strings.Contains(err.Error(), "starting") {
				t.Fatalf("before start: %v", err)
			}
			a.ready.Store(true)
			if err := ready(); err == nil || !strings.Contains(err.Error(), "no ACTIVE ingester") {
				t.Fatalf("empty ring: %v", err)
			}
			now := time.Now()
			join := func(state ring.InstanceState) {
				d := ring.NewDesc()
				d.AddInstance(ring.InstanceDesc{ID: "ing-1", Addr: "127.0.0.1:1", State: state, Tokens: []uint32{1, 2},
					RegisteredTimestamp: now.UnixMilli(), Timestamp: time.Now().UnixMilli()})
				a.kv.(*ring.MemoryKV).Merge(ring.IngesterRingKey, d)
			}
			join(ring.Joining)
			waitRing(t, func() bool { return a.ring.InstancesCount() == 1 }) // the ring follows the KV asynchronously
			if err := ready(); err == nil {
				t.Fatal("ready with only a JOINING ingester")
			}
			join(ring.Active)
			waitRing(t, func() bool { return ready() == nil })
		})
	}
}

func waitRing(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("the ring did not follow its KV within 5s")
		}
		time.Sleep(5 * time.Millisecond)
	}
}
