package distributor

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/skald-logs/skald/pkg/logproto"
	"github.com/skald-logs/skald/pkg/ring"
	"github.com/skald-logs/skald/pkg/validation"
)

// ErrQuorum marks a push that did not reach a quorum of a stream's replicas
// for a reason other than the ingesters refusing the input: the API answers
// it with a server error (5xx), and the client retries.
var ErrQuorum = errors.New("push did not reach a quorum of ingesters")

// ReplicationRing finds the ingesters of a ring key; *ring.Ring implements it.
type ReplicationRing interface {
	GetInto(key uint32, op ring.Operation, buf []ring.InstanceDesc) (ring.ReplicationSet, error)
}

// PusherFor returns the Pusher of one ingester address (an ingester client).
type PusherFor func(addr string) (Pusher, error)

// Replicator is the Pusher of a cluster: it sends each stream to the
// ingesters of its replication set in parallel and succeeds when every
// stream has reached a quorum of them.
//
// The key of a stream is ring.TokenFor(tenant, stream.Hash). Streams are
// grouped by ingester, so one push makes at most one call per ingester. Push
// returns as soon as every stream has its quorum; the calls still running
// go on in the background (bounded by the client's timeout), so slower
// replicas still receive the data. Stop waits for them. Those calls read the
// request's streams after Push returned: the caller must not modify them
// (the Distributor builds a new request for every push; its lines are
// strings and its metadata slices are not reused).
type Replicator struct {
	ring    ReplicationRing
	clients PusherFor
	logger  *slog.Logger

	inflight sync.WaitGroup

	pushes   *prometheus.CounterVec
	failures *prometheus.CounterVec
	latency  prometheus.Histogram
}

// NewReplicator returns a Replicator over r, reaching ingesters through
// clients.
func NewReplicator(r ReplicationRing, clients PusherFor, logger *slog.Logger, reg prometheus.Registerer) *Replicator {
	rp := &Replicator{
		ring: r, clients: clients, logger: logger,
		pushes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "skald_distributor_ingester_appends_total",
			Help: "Pushes sent to ingesters, by ingester.",
		}, []string{"ingester"}),
		failures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "skald_distributor_ingester_append_failures_total",
			Help: "Pushes to ingesters that failed, by ingester and kind (refused, error).",
		}, []string{"ingester", "kind"}),
		latency: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:                        "skald_distributor_replication_duration_seconds",
			Help:                        "Time until every stream of a push reached its quorum (or failed).",
			Buckets:                     prometheus.DefBuckets,
			NativeHistogramBucketFactor: 1.1,
		}),
	}
	if reg != nil {
		reg.MustRegister(rp.pushes, rp.failures, rp.latency)
	}
	return rp
}

// Stop waits for the pushes still running in the background.
func (r *Replicator) Stop() { r.inflight.Wait() }

// streamTracker counts the answers of one stream's replicas.
type streamTracker struct {
	minSuccess int
	maxErrors  int
	succeeded  atomic.Int32
	failed     atomic.Int32
}

// pushTracker decides a whole push: done is closed when every stream
// reached its quorum or one stream failed (err is then set).
type pushTracker struct {
	pending atomic.Int32 // streams without quorum
	mtx     sync.Mutex
	err     error
	done    chan struct{}
	closed  bool
}

func (p *pushTracker) finish(err error) {
	p.mtx.Lock()
	defer p.mtx.Unlock()
	if p.closed {
		return
	}
	p.closed, p.err = true, err
	close(p.done)
}

// Push implements Pusher.
func (r *Replicator) Push(ctx context.Context, tenant string, req *logproto.PushRequest) error {
	if len(req.Streams) == 0 {
		return nil
	}
	start := time.Now()
	defer func() { r.latency.Observe(time.Since(start).Seconds()) }()

	trackers := make([]streamTracker, len(req.Streams))
	byAddr := map[string][]int{} // ingester → indexes of its streams
	var order []string
	var buf [8]ring.InstanceDesc
	for i := range req.Streams {
		rs, err := r.ring.GetInto(ring.TokenFor(tenant, req.Streams[i].Hash), ring.Write, buf[:0])
		if err != nil {
			return fmt.Errorf("%w: %w", ErrQuorum, err)
		}
		trackers[i].minSuccess = rs.MinSuccess()
		trackers[i].maxErrors = rs.MaxErrors
		for _, inst := range rs.Instances {
			if _, ok := byAddr[inst.Addr]; !ok {
				order = append(order, inst.Addr)
			}
			byAddr[inst.Addr] = append(byAddr[inst.Addr], i)
		}
	}

	t := &pushTracker{done: make(chan struct{})}
	t.pending.Store(int32(len(req.Streams)))
	// The calls outlive Push when the quorum comes first: they must not be
	// cancelled with the request.
	bg := context.WithoutCancel(ctx)
	for _, addr := range order {
		idx := byAddr[addr]
		sub := &logproto.PushRequest{Streams: make([]logproto.Stream, len(idx))}
		for k, i := range idx {
			sub.Streams[k] = req.Streams[i]
		}
		r.inflight.Add(1)
		go func() {
			defer r.inflight.Done()
			err := r.pushTo(bg, addr, tenant, sub)
			for _, i := range idx {
				st := &trackers[i]
				if err != nil {
					if int(st.failed.Add(1)) == st.maxErrors+1 {
						t.finish(err)
					}
					continue
				}
				if int(st.succeeded.Add(1)) == st.minSuccess && t.pending.Add(-1) == 0 {
					t.finish(nil)
				}
			}
		}()
	}
	select {
	case <-t.done:
	case <-ctx.Done():
		return ctx.Err()
	}
	if t.err == nil {
		return nil
	}
	if errors.Is(t.err, validation.ErrInvalid) || errors.Is(t.err, validation.ErrRateLimited) {
		return t.err // the ingesters' message for the user, 400 or 429
	}
	return fmt.Errorf("%w: %w", ErrQuorum, t.err)
}

func (r *Replicator) pushTo(ctx context.Context, addr, tenant string, req *logproto.PushRequest) error {
	r.pushes.WithLabelValues(addr).Inc()
	c, err := r.clients(addr)
	if err == nil {
		err = c.Push(ctx, tenant, req)
	}
	if err != nil {
		kind := "error"
		if errors.Is(err, validation.ErrInvalid) || errors.Is(err, validation.ErrRateLimited) {
			kind = "refused"
		} else {
			r.logger.Debug("push to ingester failed", "ingester", addr, "err", err)
		}
		r.failures.WithLabelValues(addr, kind).Inc()
	}
	return err
}
