package ring

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

var (
	// ErrEmptyRing is returned when the ring has no instance (with tokens,
	// for Get) to serve a request.
	ErrEmptyRing = errors.New("empty ring")
	// ErrTooManyUnhealthyInstances is returned when too few healthy instances
	// remain for an operation to reach its quorum. Errors from Get wrap it
	// with dskit's message ("at least 2 live replicas required, ...").
	ErrTooManyUnhealthyInstances = errors.New("too many unhealthy instances in the ring")
)

// Ring answers which instances hold a key, from a KV it watches. It is safe
// for concurrent use; lookups take no lock and allocate nothing beyond their
// result. Create one Ring per key and process, and share it (the distributor
// and the querier of one process use the same Ring).
type Ring struct {
	cfg    Config
	key    string
	kv     KV
	logger *slog.Logger
	now    func() time.Time

	state atomic.Pointer[ringState]

	mu     sync.Mutex
	cancel context.CancelFunc
	done   chan struct{}
}

// NewRing returns a Ring of the Desc stored under key in kv. It is empty until
// Start.
func NewRing(cfg Config, key string, kv KV, logger *slog.Logger, reg prometheus.Registerer) (*Ring, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	r := &Ring{cfg: cfg, key: key, kv: kv, logger: logger, now: time.Now}
	r.state.Store(newRingState(NewDesc(), nil))
	if reg != nil {
		if err := reg.Register(&ringCollector{r: r}); err != nil {
			return nil, fmt.Errorf("ring %s metrics: %w", key, err)
		}
	}
	return r, nil
}

// Start reads the current Desc and follows its changes until Stop.
func (r *Ring) Start(ctx context.Context) error {
	d, err := r.kv.Get(ctx, r.key)
	if err != nil {
		return fmt.Errorf("read ring %s: %w", r.key, err)
	}
	r.update(d)
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.cancel != nil {
		return errors.New("ring already started")
	}
	wctx, cancel := context.WithCancel(context.Background())
	r.cancel, r.done = cancel, make(chan struct{})
	go func() {
		defer close(r.done)
		r.kv.Watch(wctx, r.key, func(d *Desc) bool {
			r.update(d)
			return true
		})
	}()
	return nil
}

// Stop stops following the KV and waits for the watcher to return.
func (r *Ring) Stop() {
	r.mu.Lock()
	cancel, done := r.cancel, r.done
	r.mu.Unlock()
	if cancel == nil {
		return
	}
	cancel()
	<-done
}

func (r *Ring) update(d *Desc) {
	prev := r.state.Load()
	next := newRingState(d, prev)
	r.state.Store(next)
	if len(prev.instances) != len(next.instances) {
		r.logger.Debug("ring changed", "key", r.key, "instances", len(next.instances), "tokens", len(next.tokens))
	}
}

// ReplicationFactor is the configured replication factor.
func (r *Ring) ReplicationFactor() int { return r.cfg.ReplicationFactor }

// InstancesCount is the number of instances in the ring, tombstones excluded.
func (r *Ring) InstancesCount() int { return len(r.state.Load().instances) }

// Desc returns a copy of the ring's current Desc.
func (r *Ring) Desc() *Desc { return r.state.Load().desc.Clone() }

// Get returns the replication set of key for op. See GetInto.
func (r *Ring) Get(key uint32, op Operation) (ReplicationSet, error) {
	return r.GetInto(key, op, nil)
}

// GetInto returns the replication set of key for op, using buf (which may be
// nil) for its instances; a buffer of a few entries makes it allocation free.
//
// Walking the ring clockwise from key, it picks ReplicationFactor distinct
// instances (in distinct zones with zone awareness; instances without a zone
// are not restricted); an instance whose state op.ShouldExtendReplicaSetOnState
// makes the walk pick one more. Then it drops the instances that are
// unhealthy for op (wrong state or stale heartbeat). Quorum is a majority of
// the larger of the replication factor and the walked set; the set's
// MaxErrors is how many of the remaining instances may fail. Too few healthy
// instances for a quorum is an error wrapping ErrTooManyUnhealthyInstances.
//
// The instances share their Tokens with the ring: do not modify them.
func (r *Ring) GetInto(key uint32, op Operation, buf []InstanceDesc) (ReplicationSet, error) {
	s := r.state.Load()
	if len(s.tokens) == 0 {
		return ReplicationSet{}, ErrEmptyRing
	}
	instances := s.walk(key, op, r.cfg.ReplicationFactor, r.cfg.ZoneAwarenessEnabled, buf[:0])
	return filterHealthy(instances, op, r.cfg, r.now())
}

// walk returns the instances of key's replication set before health checks.
func (s *ringState) walk(key uint32, op Operation, rf int, zoneAware bool, out []InstanceDesc) []InstanceDesc {
	var (
		n        = rf
		start    = searchToken(s.tokens, key)
		hostsBuf [8]int32
		zonesBuf [8]string
		hosts    = hostsBuf[:0]
		zones    = zonesBuf[:0]
	)
	for i, iter := start, 0; len(hosts) < min(s.numOwners, n) && iter < len(s.tokens); i, iter = i+1, iter+1 {
		if i == len(s.tokens) {
			i = 0
		}
		if zoneAware && len(zones) >= s.numZones {
			break
		}
		o := s.owners[i]
		if containsInt32(hosts, o) {
			continue
		}
		inst := &s.instances[o]
		if zoneAware && inst.Zone != "" && containsString(zones, inst.Zone) {
			continue
		}
		hosts = append(hosts, o)
		if op.ShouldExtendReplicaSetOnState(inst.State) {
			n++
		} else if zoneAware && inst.Zone != "" {
			// The zone is used only by an instance that counts: an extending
			// instance is replaced by another of the same zone.
			zones = append(zones, inst.Zone)
		}
		out = append(out, *inst)
	}
	return out
}

// filterHealthy drops the instances unhealthy for op, keeping the order, and
// computes MaxErrors as dskit's default replication strategy does.
func filterHealthy(instances []InstanceDesc, op Operation, cfg Config, now time.Time) (ReplicationSet, error) {
	minSuccess := max(cfg.ReplicationFactor, len(instances))/2 + 1
	var (
		unhealthyBuf [8]string
		unhealthy    = unhealthyBuf[:0]
		kept         = 0
	)
	for i := range instances {
		if instances[i].IsHealthy(op, cfg.HeartbeatTimeout, now) {
			instances[kept] = instances[i]
			kept++
		} else {
			unhealthy = append(unhealthy, instances[i].Addr)
		}
	}
	clear(instances[kept:])
	instances = instances[:kept]
	if len(instances) < minSuccess {
		var b strings.Builder
		if cfg.ZoneAwarenessEnabled {
			fmt.Fprintf(&b, "at least %d live replicas required across different availability zones, could only find %d", minSuccess, len(instances))
		} else {
			fmt.Fprintf(&b, "at least %d live replicas required, could only find %d", minSuccess, len(instances))
		}
		if len(unhealthy) > 0 {
			b.WriteString(" - unhealthy instances: ")
			b.WriteString(strings.Join(unhealthy, ","))
		}
		return ReplicationSet{}, &unhealthyError{msg: b.String()}
	}
	return ReplicationSet{Instances: instances, MaxErrors: len(instances) - minSuccess}, nil
}

// unhealthyError carries dskit's message and matches
// ErrTooManyUnhealthyInstances.
type unhealthyError struct{ msg string }

func (e *unhealthyError) Error() string { return e.msg }
func (e *unhealthyError) Unwrap() error { return ErrTooManyUnhealthyInstances }

// GetAllHealthy returns every instance healthy for op, with MaxErrors 0: the
// set a caller that must hear from everyone asks.
func (r *Ring) GetAllHealthy(op Operation) (ReplicationSet, error) {
	s := r.state.Load()
	if len(s.instances) == 0 {
		return ReplicationSet{}, ErrEmptyRing
	}
	now := r.now()
	out := make([]InstanceDesc, 0, len(s.instances))
	for i := range s.instances {
		if s.instances[i].IsHealthy(op, r.cfg.HeartbeatTimeout, now) {
			out = append(out, s.instances[i])
		}
	}
	return ReplicationSet{Instances: out}, nil
}

// GetReplicationSetForOperation returns the set a querier reads recent data
// from: every healthy instance, with how many may fail while every stream
// still has an answering replica.
//
// Without zone awareness the read needs all instances but RF/2 (counting at
// least RF instances), so MaxErrors is the healthy count minus that. With zone
// awareness, RF/2 of min(zones, RF) zones may fail: a zone with an unhealthy
// instance is dropped whole and counts as failed, and MaxUnavailableZones is
// what remains of the allowance. Too many failures is
// ErrTooManyUnhealthyInstances.
func (r *Ring) GetReplicationSetForOperation(op Operation) (ReplicationSet, error) {
	s := r.state.Load()
	if len(s.instances) == 0 || len(s.tokens) == 0 {
		return ReplicationSet{}, ErrEmptyRing
	}
	now := r.now()
	healthy := make([]InstanceDesc, 0, len(s.instances))
	failedZones := map[string]struct{}{}
	for i := range s.instances {
		if s.instances[i].IsHealthy(op, r.cfg.HeartbeatTimeout, now) {
			healthy = append(healthy, s.instances[i])
		} else {
			failedZones[s.instances[i].Zone] = struct{}{}
		}
	}

	if r.cfg.ZoneAwarenessEnabled {
		replicatedZones := min(s.numZones, r.cfg.ReplicationFactor)
		maxUnavailable := (replicatedZones/2 + 1) - 1
		if len(failedZones) > maxUnavailable {
			return ReplicationSet{}, ErrTooManyUnhealthyInstances
		}
		if len(failedZones) > 0 {
			kept := healthy[:0]
			for _, inst := range healthy {
				if _, failed := failedZones[inst.Zone]; !failed {
					kept = append(kept, inst)
				}
			}
			healthy = kept
		}
		return ReplicationSet{Instances: healthy, MaxUnavailableZones: maxUnavailable - len(failedZones)}, nil
	}

	required := max(len(s.instances), r.cfg.ReplicationFactor) - r.cfg.ReplicationFactor/2
	if len(healthy) < required {
		return ReplicationSet{}, ErrTooManyUnhealthyInstances
	}
	return ReplicationSet{Instances: healthy, MaxErrors: len(healthy) - required}, nil
}

func containsInt32(s []int32, v int32) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

func containsString(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}
