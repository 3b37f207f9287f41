package ring

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// FlushFunc writes an instance's in-memory data somewhere durable before it
// leaves the ring. It is given Stop's context.
type FlushFunc func(ctx context.Context) error

// Lifecycler keeps one instance in the ring: it registers it, takes its
// tokens, heartbeats, and takes it out again on Stop.
//
// Start registers the instance as JOINING, then takes NumTokens random
// tokens no other instance holds and becomes ACTIVE. An instance that finds
// its own entry in the ring (a restart with the same ID) keeps its tokens and
// registration time and goes back to ACTIVE. Every HeartbeatPeriod it renews
// its heartbeat, puts its entry back if another process removed it ("forget"
// on /ring), and replaces tokens it lost to a conflict (two instances that
// picked the same token; see ownsTokenOver). Stop sets LEAVING, calls the
// flush function while still heartbeating, then (with UnregisterOnShutdown)
// leaves a tombstone in the ring.
type Lifecycler struct {
	cfg    LifecyclerConfig
	id     string
	key    string
	addr   string
	kv     KV
	flush  FlushFunc
	logger *slog.Logger
	now    func() time.Time

	casMu sync.Mutex // serialises this instance's updates of the ring

	mu           sync.Mutex
	state        InstanceState
	tokens       []uint32
	registeredAt int64
	started      bool
	stopped      bool

	stopHeartbeat chan struct{}
	heartbeatDone chan struct{}

	heartbeats        prometheus.Counter
	heartbeatFailures prometheus.Counter
	tokensOwned       prometheus.Gauge
}

// NewLifecycler returns the lifecycler of instance id in the ring stored
// under key in kv. flush, which may be nil, runs on Stop before the instance
// leaves. cfg.Port must be set (see LifecyclerConfig.AdvertisedAddr).
func NewLifecycler(cfg LifecyclerConfig, id, key string, kv KV, flush FlushFunc, logger *slog.Logger, reg prometheus.Registerer) (*Lifecycler, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if id == "" {
		return nil, errors.New("lifecycler: empty instance id")
	}
	addr, err := cfg.AdvertisedAddr()
	if err != nil {
		return nil, err
	}
	labels := prometheus.Labels{"name": key}
	l := &Lifecycler{
		cfg: cfg, id: id, key: key, addr: addr, kv: kv, flush: flush,
		logger: logger.With("ring", key, "instance", id),
		now:    time.Now,
		state:  Joining,
		heartbeats: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "skald_ring_member_heartbeats_total", Help: "Heartbeats this instance wrote to the ring.", ConstLabels: labels}),
		heartbeatFailures: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "skald_ring_member_heartbeat_failures_total", Help: "Heartbeats this instance failed to write.", ConstLabels: labels}),
		tokensOwned: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "skald_ring_member_tokens_owned", Help: "Tokens this instance holds in the ring.", ConstLabels: labels}),
	}
	if reg != nil {
		for _, c := range []prometheus.Collector{l.heartbeats, l.heartbeatFailures, l.tokensOwned} {
			if err := reg.Register(c); err != nil {
				return nil, fmt.Errorf("lifecycler metrics: %w", err)
			}
		}
	}
	return l, nil
}

// ID is the instance's ID.
func (l *Lifecycler) ID() string { return l.id }

// Addr is the advertised gRPC address.
func (l *Lifecycler) Addr() string { return l.addr }

// Zone is the instance's availability zone.
func (l *Lifecycler) Zone() string { return l.cfg.Zone }

// State is the instance's current state.
func (l *Lifecycler) State() InstanceState {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.state
}

// Tokens returns a copy of the instance's tokens, sorted.
func (l *Lifecycler) Tokens() []uint32 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.tokens)
}

// CheckReady returns nil when the instance is ACTIVE in the ring.
func (l *Lifecycler) CheckReady() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.state != Active || !l.started {
		return fmt.Errorf("instance %s in state %s", l.id, l.state)
	}
	return nil
}

// Start puts the instance in the ring and returns once it is ACTIVE; then it
// heartbeats until Stop. A failed Start may be retried.
func (l *Lifecycler) Start(ctx context.Context) error {
	l.mu.Lock()
	if l.started || l.stopped {
		l.mu.Unlock()
		return errors.New("lifecycler already started")
	}
	l.mu.Unlock()

	if err := l.register(ctx); err != nil {
		return err
	}
	if l.State() == Joining {
		if err := l.join(ctx); err != nil {
			return err
		}
	}

	l.mu.Lock()
	l.started = true
	l.stopHeartbeat = make(chan struct{})
	l.heartbeatDone = make(chan struct{})
	l.mu.Unlock()
	go l.heartbeatLoop()
	l.logger.Info("instance active in the ring", "addr", l.addr, "zone", l.cfg.Zone, "tokens", len(l.Tokens()))
	return nil
}

// register writes the instance's entry: a new JOINING entry without tokens,
// or, if the ring already has one (a restart), that entry's tokens and
// registration time.
func (l *Lifecycler) register(ctx context.Context) error {
	return l.cas(ctx, func(d *Desc, now int64) {
		l.mu.Lock()
		defer l.mu.Unlock()
		if inst, ok := d.Instances[l.id]; ok && inst.State != Left {
			l.registeredAt = inst.RegisteredTimestamp
			l.tokens = slices.Clone(inst.Tokens)
			if len(l.tokens) >= l.cfg.NumTokens {
				l.state = Active
				l.logger.Info("instance found in the ring; keeping its tokens", "state", inst.State, "tokens", len(l.tokens))
			} else {
				l.state = Joining
			}
		} else {
			l.registeredAt = now
			l.tokens = nil
			l.state = Joining
		}
	})
}

// join takes the missing tokens and goes ACTIVE in one update.
func (l *Lifecycler) join(ctx context.Context) error {
	return l.cas(ctx, func(d *Desc, _ int64) {
		l.mu.Lock()
		defer l.mu.Unlock()
		if missing := l.cfg.NumTokens - len(l.tokens); missing > 0 {
			taken := d.TakenTokens(l.id)
			l.tokens = mergeSorted(l.tokens, GenerateTokens(missing, taken))
		}
		l.state = Active
	})
}

// cas runs change under the instance's update lock and writes the
// instance's entry: ID, addresses, zone, and the state, tokens and
// registration time the lifecycler holds after change, with a heartbeat
// timestamp newer than any entry of the instance seen so far.
func (l *Lifecycler) cas(ctx context.Context, change func(d *Desc, now int64)) error {
	l.casMu.Lock()
	defer l.casMu.Unlock()
	return l.kv.CAS(ctx, l.key, func(d *Desc) (*Desc, error) {
		now := l.now().UnixMilli()
		change(d, now)
		l.mu.Lock()
		defer l.mu.Unlock()
		ts := now
		if prev, ok := d.Instances[l.id]; ok && prev.Timestamp >= ts {
			ts = prev.Timestamp + 1
		}
		d.AddInstance(InstanceDesc{
			ID:                  l.id,
			Addr:                l.addr,
			HTTPAddr:            l.cfg.HTTPAddr,
			Zone:                l.cfg.Zone,
			State:               l.state,
			Tokens:              l.tokens,
			RegisteredTimestamp: l.registeredAt,
			Timestamp:           ts,
		})
		l.tokensOwned.Set(float64(len(l.tokens)))
		return d, nil
	})
}

func (l *Lifecycler) heartbeatLoop() {
	defer close(l.heartbeatDone)
	t := time.NewTicker(l.cfg.HeartbeatPeriod)
	defer t.Stop()
	for {
		select {
		case <-l.stopHeartbeat:
			return
		case <-t.C:
			ctx, cancel := context.WithTimeout(context.Background(), max(l.cfg.HeartbeatPeriod, time.Second))
			err := l.heartbeat(ctx)
			cancel()
			if err != nil {
				l.heartbeatFailures.Inc()
				l.logger.Warn("heartbeat failed", "err", err)
				continue
			}
			l.heartbeats.Inc()
		}
	}
}

// heartbeat renews the entry and repairs it: it re-adds an entry that was
// removed and replaces tokens lost to other instances.
func (l *Lifecycler) heartbeat(ctx context.Context) error {
	return l.cas(ctx, func(d *Desc, _ int64) {
		l.mu.Lock()
		defer l.mu.Unlock()
		if inst, ok := d.Instances[l.id]; !ok || inst.State == Left {
			l.logger.Warn("instance missing from the ring; adding it back", "tokens", len(l.tokens))
		}
		if l.state == Leaving {
			return
		}
		lost := lostTokens(d, l.id, l.tokens, l.state, l.registeredAt)
		if len(lost) == 0 {
			return
		}
		kept := slices.DeleteFunc(slices.Clone(l.tokens), func(t uint32) bool {
			_, found := slices.BinarySearch(lost, t)
			return found
		})
		taken := d.TakenTokens(l.id)
		l.tokens = mergeSorted(kept, GenerateTokens(len(lost), mergeSorted(taken, lost)))
		l.logger.Warn("tokens claimed by another instance; replaced them", "replaced", len(lost))
	})
}

// lostTokens returns, sorted, the tokens of instance id that another live
// instance of d wins (ownsTokenOver).
func lostTokens(d *Desc, id string, tokens []uint32, state InstanceState, registeredAt int64) []uint32 {
	me := InstanceDesc{ID: id, State: state, RegisteredTimestamp: registeredAt}
	var lost []uint32
	for otherID, other := range d.Instances {
		if otherID == id || other.State == Left || len(other.Tokens) == 0 || !ownsTokenOver(&other, &me) {
			continue
		}
		// Both lists are sorted: walk them together.
		i, j := 0, 0
		for i < len(tokens) && j < len(other.Tokens) {
			switch {
			case tokens[i] < other.Tokens[j]:
				i++
			case tokens[i] > other.Tokens[j]:
				j++
			default:
				lost = append(lost, tokens[i])
				i++
				j++
			}
		}
	}
	slices.Sort(lost)
	return slices.Compact(lost)
}

// Stop takes the instance out of the ring: it sets LEAVING, runs the flush
// function (heartbeats go on meanwhile), stops heartbeating, removes the
// instance (with UnregisterOnShutdown; otherwise it stays LEAVING), and
// sleeps FinalSleep. Errors of the flush and of the ring updates are
// returned together after all steps ran.
func (l *Lifecycler) Stop(ctx context.Context) error {
	l.mu.Lock()
	if !l.started || l.stopped {
		l.mu.Unlock()
		return nil
	}
	l.stopped = true
	l.state = Leaving
	l.mu.Unlock()

	var errs []error
	if err := l.cas(ctx, func(*Desc, int64) {}); err != nil {
		errs = append(errs, fmt.Errorf("set LEAVING: %w", err))
	}
	l.logger.Info("instance leaving the ring")
	if l.flush != nil {
		if err := l.flush(ctx); err != nil {
			errs = append(errs, fmt.Errorf("flush before leaving: %w", err))
		}
	}
	close(l.stopHeartbeat)
	<-l.heartbeatDone

	if l.cfg.UnregisterOnShutdown {
		l.casMu.Lock()
		err := l.kv.CAS(ctx, l.key, func(d *Desc) (*Desc, error) {
			if !d.Remove(l.id, l.now()) {
				return nil, nil
			}
			return d, nil
		})
		l.casMu.Unlock()
		if err != nil {
			errs = append(errs, fmt.Errorf("unregister: %w", err))
		} else {
			l.logger.Info("instance removed from the ring")
		}
		l.tokensOwned.Set(0)
	}
	if l.cfg.FinalSleep > 0 {
		select {
		case <-time.After(l.cfg.FinalSleep):
		case <-ctx.Done():
		}
	}
	return errors.Join(errs...)
}

// mergeSorted returns the sorted union of two sorted token lists.
func mergeSorted(a, b []uint32) []uint32 {
	out := make([]uint32, 0, len(a)+len(b))
	out = append(out, a...)
	out = append(out, b...)
	slices.Sort(out)
	return slices.Compact(out)
}
