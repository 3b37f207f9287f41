package ring

import (
	"context"
	"sync"
)

// ReplicationSet is the set of instances an operation goes to and how many of
// them may fail.
//
// Sets from Get and from GetReplicationSetForOperation without zone awareness
// use MaxErrors: the operation succeeds when len(Instances)-MaxErrors
// instances succeed. Sets from GetReplicationSetForOperation with zone
// awareness use MaxUnavailableZones instead (MaxErrors is 0): the operation
// succeeds when every instance of all but MaxUnavailableZones zones succeeds.
type ReplicationSet struct {
	Instances           []InstanceDesc
	MaxErrors           int
	MaxUnavailableZones int
}

// MinSuccess is how many instances must succeed for a set that uses
// MaxErrors: the quorum of a write.
func (rs ReplicationSet) MinSuccess() int { return len(rs.Instances) - rs.MaxErrors }

// Addresses returns the gRPC addresses of the instances.
func (rs ReplicationSet) Addresses() []string {
	out := make([]string, len(rs.Instances))
	for i := range rs.Instances {
		out[i] = rs.Instances[i].Addr
	}
	return out
}

// Includes reports whether an instance of the set has the address addr.
func (rs ReplicationSet) Includes(addr string) bool {
	for i := range rs.Instances {
		if rs.Instances[i].Addr == addr {
			return true
		}
	}
	return false
}

// Do calls f for every instance of rs concurrently and returns the results of
// those that succeeded as soon as enough have (see ReplicationSet), or the
// error that made success impossible. Then it cancels the context of the calls
// still running and waits for them to return, so f must honour its context.
// The results are in the order the calls finished.
func Do[T any](ctx context.Context, rs ReplicationSet, f func(ctx context.Context, inst *InstanceDesc) (T, error)) ([]T, error) {
	n := len(rs.Instances)
	if n == 0 {
		return nil, nil
	}
	ctx, cancel := context.WithCancel(ctx)
	type result struct {
		i   int
		v   T
		err error
	}
	ch := make(chan result, n)
	var wg sync.WaitGroup
	defer func() {
		cancel()
		wg.Wait()
	}()
	for i := range rs.Instances {
		wg.Go(func() {
			v, err := f(ctx, &rs.Instances[i])
			ch <- result{i: i, v: v, err: err}
		})
	}
	t := newQuorumTracker(rs)
	out := make([]T, 0, n)
	for range n {
		r := <-ch
		if r.err != nil {
			if t.failed(r.i) {
				return nil, r.err
			}
			continue
		}
		out = append(out, r.v)
		if t.succeeded(r.i) {
			return out, nil
		}
	}
	// Unreachable for a consistent set: n results always decide.
	return out, nil
}

// quorumTracker decides when a ReplicationSet operation has succeeded or
// failed, counting instances or, with MaxUnavailableZones, zones.
type quorumTracker struct {
	rs ReplicationSet
	// instance mode
	ok, bad int
	// zone mode
	zoneOf      []int // instance -> zone index
	pending     []int // zone -> instances not yet succeeded
	zoneFailed  []bool
	zonesOK     int
	zonesFailed int
}

func newQuorumTracker(rs ReplicationSet) *quorumTracker {
	t := &quorumTracker{rs: rs}
	if rs.MaxUnavailableZones <= 0 {
		return t
	}
	index := map[string]int{}
	t.zoneOf = make([]int, len(rs.Instances))
	for i := range rs.Instances {
		z, ok := index[rs.Instances[i].Zone]
		if !ok {
			z = len(t.pending)
			index[rs.Instances[i].Zone] = z
			t.pending = append(t.pending, 0)
		}
		t.zoneOf[i] = z
		t.pending[z]++
	}
	t.zoneFailed = make([]bool, len(t.pending))
	return t
}

func (t *quorumTracker) zoneMode() bool { return t.zoneOf != nil }

// succeeded records a success of instance i and reports whether the
// operation as a whole has succeeded.
func (t *quorumTracker) succeeded(i int) bool {
	if !t.zoneMode() {
		t.ok++
		return t.ok >= len(t.rs.Instances)-t.rs.MaxErrors
	}
	z := t.zoneOf[i]
	t.pending[z]--
	if t.pending[z] == 0 && !t.zoneFailed[z] {
		t.zonesOK++
	}
	return t.zonesOK >= len(t.pending)-t.rs.MaxUnavailableZones
}

// failed records a failure of instance i and reports whether the operation
// can no longer succeed.
func (t *quorumTracker) failed(i int) bool {
	if !t.zoneMode() {
		t.bad++
		return t.bad > t.rs.MaxErrors
	}
	z := t.zoneOf[i]
	if !t.zoneFailed[z] {
		t.zoneFailed[z] = true
		t.zonesFailed++
	}
	return t.zonesFailed > t.rs.MaxUnavailableZones
}
