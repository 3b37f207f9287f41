package app

import (
	"maps"
	"slices"
	"testing"
)

func TestTargets(t *testing.T) {
	for _, tc := range []struct {
		target string
		want   []string // nil: an error
	}{
		{"all", []string{"all"}},
		{"ingester", []string{"ingester"}},
		{"distributor,querier", []string{"distributor", "querier"}},
		{" ingester , querier,compactor", []string{"compactor", "ingester", "querier"}},
		{"all,ingester", nil},
		{"ingester,", nil},
		{"query-frontend", nil},
		{"", nil},
	} {
		cfg := Config{Target: tc.target}
		got, err := cfg.targets()
		if tc.want == nil {
			if err == nil {
				t.Errorf("%q: no error, got %v", tc.target, got)
			}
			continue
		}
		if err != nil {
			t.Errorf("%q: %v", tc.target, err)
			continue
		}
		if keys := slices.Sorted(maps.Keys(got)); !slices.Equal(keys, tc.want) {
			t.Errorf("%q: targets %v, want %v", tc.target, keys, tc.want)
		}
	}
}

// TestClusterFlags: the flags of the cluster have Loki's names and the
// defaults docs/cluster.md gives.
func TestClusterFlags(t *testing.T) {
	cfg, err := Load([]string{"-target=ingester", "-memberlist.join=a:7946,b:7946", "-distributor.replication-factor=3"})
	if err != nil {
		t.Fatal(err)
	}
	if got := cfg.Ingester.Lifecycler.Ring.ReplicationFactor; got != 3 {
		t.Errorf("replication factor %d", got)
	}
	if got := cfg.Memberlist.JoinMembers; !slices.Equal(got, []string{"a:7946", "b:7946"}) {
		t.Errorf("join %v", got)
	}
	if cfg.IngesterClient.RemoteTimeout.Seconds() != 5 || cfg.IngesterClient.GRPC.MaxRecvMsgSize != 100<<20 {
		t.Errorf("ingester client defaults %+v", cfg.IngesterClient)
	}
	if cfg.Server.GRPCMinTimeBetweenPings > cfg.IngesterClient.GRPC.KeepaliveTime {
		t.Errorf("clients ping every %s but the server refuses pings closer than %s", cfg.IngesterClient.GRPC.KeepaliveTime, cfg.Server.GRPCMinTimeBetweenPings)
	}
	if _, err := Load([]string{"-target=ingester", "-ingester.client.timeout=0s"}); err == nil {
		t.Error("a zero client timeout must be refused")
	}
}
