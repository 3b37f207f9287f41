package ring

import (
	"context"
	"errors"
	"slices"
	"sync/atomic"
	"testing"
)

func TestOperations(t *testing.T) {
	states := []InstanceState{Active, Leaving, Joining, Left}
	tests := []struct {
		name    string
		op      Operation
		healthy []InstanceState
		extend  []InstanceState
	}{
		{"Write", Write, []InstanceState{Active}, []InstanceState{Leaving, Joining, Left}},
		{"WriteNoExtend", WriteNoExtend, []InstanceState{Active}, nil},
		{"Read", Read, []InstanceState{Active, Leaving}, []InstanceState{Joining, Left}},
		{"Reporting", Reporting, states, nil},
	}
	for _, tt := range tests {
		for _, s := range states {
			if got, want := tt.op.IsInstanceInStateHealthy(s), slices.Contains(tt.healthy, s); got != want {
				t.Errorf("%s healthy(%s) = %v", tt.name, s, got)
			}
			if got, want := tt.op.ShouldExtendReplicaSetOnState(s), slices.Contains(tt.extend, s); got != want {
				t.Errorf("%s extend(%s) = %v", tt.name, s, got)
			}
		}
		if tt.op.IsInstanceInStateHealthy(-1) || tt.op.IsInstanceInStateHealthy(99) {
			t.Errorf("%s: an unknown state is healthy", tt.name)
		}
	}
	if !Write.ShouldExtendReplicaSetOnState(99) || WriteNoExtend.ShouldExtendReplicaSetOnState(99) {
		t.Error("unknown states: Write must extend, WriteNoExtend must not")
	}
}

func TestQuorumArithmetic(t *testing.T) {
	// minSuccess = max(RF, set)/2 + 1, as dskit; MaxErrors = healthy - minSuccess.
	tests := []struct {
		rf, set, unhealthy int
		maxErrors          int
		fails              bool
	}{
		{rf: 1, set: 1, maxErrors: 0},
		{rf: 2, set: 2, maxErrors: 0},
		{rf: 3, set: 3, maxErrors: 1},
		{rf: 3, set: 3, unhealthy: 1, maxErrors: 0},
		{rf: 3, set: 3, unhealthy: 2, fails: true},
		{rf: 3, set: 4, maxErrors: 1},
		{rf: 3, set: 4, unhealthy: 1, maxErrors: 0},
		{rf: 3, set: 2, maxErrors: 0},
		{rf: 5, set: 5, maxErrors: 2},
		{rf: 5, set: 5, unhealthy: 2, maxErrors: 0},
		{rf: 5, set: 5, unhealthy: 3, fails: true},
	}
	for _, tt := range tests {
		var instances []InstanceDesc
		for i := range tt.set {
			in := inst(string(rune('a'+i)), "")
			if i < tt.unhealthy {
				in = stale(in)
			}
			instances = append(instances, in)
		}
		rs, err := filterHealthy(instances, Write, Config{ReplicationFactor: tt.rf, HeartbeatTimeout: 60e9}, testNow)
		if tt.fails {
			if !errors.Is(err, ErrTooManyUnhealthyInstances) {
				t.Errorf("%+v: err = %v", tt, err)
			}
			continue
		}
		if err != nil || rs.MaxErrors != tt.maxErrors || len(rs.Instances) != tt.set-tt.unhealthy {
			t.Errorf("%+v: got %d instances, MaxErrors %d, err %v", tt, len(rs.Instances), rs.MaxErrors, err)
		}
	}
}

func TestReplicationSetHelpers(t *testing.T) {
	rs := ReplicationSet{Instances: []InstanceDesc{inst("a", ""), inst("b", "")}, MaxErrors: 1}
	if rs.MinSuccess() != 1 {
		t.Errorf("MinSuccess %d", rs.MinSuccess())
	}
	if got := rs.Addresses(); !slices.Equal(got, []string{"a:9095", "b:9095"}) {
		t.Errorf("Addresses %v", got)
	}
	if !rs.Includes("b:9095") || rs.Includes("c:9095") {
		t.Error("Includes")
	}
}

// doScript runs Do where the instances named in fail fail at once and those
// in block wait for cancellation; it returns the sorted results and the error.
func doScript(t *testing.T, rs ReplicationSet, fail, block []string) ([]string, error, int32) {
	t.Helper()
	var cancelled atomic.Int32
	out, err := Do(context.Background(), rs, func(ctx context.Context, in *InstanceDesc) (string, error) {
		switch {
		case slices.Contains(fail, in.ID):
			return "", errors.New("failed " + in.ID)
		case slices.Contains(block, in.ID):
			<-ctx.Done()
			cancelled.Add(1)
			return "", ctx.Err()
		}
		return in.ID, nil
	})
	slices.Sort(out)
	return out, err, cancelled.Load()
}

func TestDo(t *testing.T) {
	three := ReplicationSet{Instances: []InstanceDesc{inst("a", ""), inst("b", ""), inst("c", "")}, MaxErrors: 1}
	zones := ReplicationSet{Instances: []InstanceDesc{
		inst("a1", "a"), inst("a2", "a"), inst("b1", "b"), inst("b2", "b"), inst("c1", "c"), inst("c2", "c"),
	}, MaxUnavailableZones: 1}
	tests := []struct {
		name        string
		rs          ReplicationSet
		fail, block []string
		want        []string
		err         bool
		cancelled   int32
	}{
		{name: "all needed", rs: ReplicationSet{Instances: three.Instances}, want: []string{"a", "b", "c"}},
		{name: "no error tolerated", rs: ReplicationSet{Instances: three.Instances}, fail: []string{"c"}, err: true},
		{name: "one failure tolerated", rs: three, fail: []string{"b"}, want: []string{"a", "c"}},
		{name: "two failures", rs: three, fail: []string{"a", "c"}, err: true},
		{name: "quorum without the slow one, which is cancelled", rs: three, block: []string{"c"}, want: []string{"a", "b"}, cancelled: 1},
		{name: "failures end it while one is slow", rs: three, fail: []string{"a", "b"}, block: []string{"c"}, err: true, cancelled: 1},
		{name: "zones: one failing zone tolerated", rs: zones, fail: []string{"b1"}, block: []string{"b2"}, want: []string{"a1", "a2", "c1", "c2"}, cancelled: 1},
		{name: "zones: two failures in one zone", rs: zones, fail: []string{"b1", "b2"}, want: []string{"a1", "a2", "c1", "c2"}},
		{name: "zones: two failing zones", rs: zones, fail: []string{"b1", "c2"}, err: true},
		{name: "zones: slow zone skipped", rs: zones, block: []string{"c1", "c2"}, want: []string{"a1", "a2", "b1", "b2"}, cancelled: 2},
		{name: "empty set", rs: ReplicationSet{}, want: nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err, cancelled := doScript(t, tt.rs, tt.fail, tt.block)
			if tt.err != (err != nil) {
				t.Fatalf("err = %v", err)
			}
			if !tt.err && !slices.Equal(got, tt.want) {
				t.Fatalf("results %v, want %v", got, tt.want)
			}
			if cancelled != tt.cancelled {
				t.Fatalf("%d calls cancelled, want %d", cancelled, tt.cancelled)
			}
		})
	}
}
