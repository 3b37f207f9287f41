package querier

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/skald-logs/skald/pkg/iter"
	"github.com/skald-logs/skald/pkg/ring"
)

// Live tails, as Loki's queriers serve them: the querier follows the pushes
// of every ingester (each sends the entries it appends, whatever their
// timestamps), merges them with the history, drops the copies the replicas
// send (RF=3: three of each entry), holds each entry until delay_for after
// its timestamp, and hands them over in time order.

// TailSource follows one ingester's pushes: *ingester.Ingester in process,
// an ingester client in a cluster. Tail calls send once with nothing when
// the tail is registered, then with each batch, from one goroutine; it
// returns nil when ctx is done.
type TailSource interface {
	Tail(ctx context.Context, tenant, query string, send func(entries, dropped []iter.StreamEntry) error) error
}

// TailRequest is one live tail. The API's TailRequest has the same fields,
// so the app converts one into the other.
type TailRequest struct {
	// Query is a log query: a selector and its pipeline.
	Query string
	// DelayFor holds each entry until this long after its timestamp, so
	// that entries that arrive a little late still go out in order.
	DelayFor time.Duration
	// History, if set, is called once the tail follows the ingesters; its
	// entries (Loki: the newest `limit` since `start`) join the merge, and
	// live copies of them are not sent again.
	History func(ctx context.Context) ([]iter.StreamEntry, error)
	// Send receives the entries as they become due, in time order, at most
	// TailMaxEntriesPerSend at a time, with the entries dropped since the
	// last call (their labels and timestamps). It is called from one
	// goroutine; it owns the slices, and an error from it ends the tail.
	Send func(entries, dropped []iter.StreamEntry) error
}

// TailMaxEntriesPerSend bounds the entries of one call of TailRequest.Send
// (Loki's maxEntriesPerTailResponse).
const TailMaxEntriesPerSend = 100

// tailCheckPeriod is how often a tail connects to the ingesters it does
// not follow (new ones, or ones whose tail broke), as Loki does.
const tailCheckPeriod = 5 * time.Second

var (
	// ErrTailUnsupported is returned when the ingesters cannot be tailed.
	ErrTailUnsupported = errors.New("the ingesters do not support live tails")
	// ErrTailNoIngesters ends a tail that two checks in a row found with
	// no ingester to follow, nor one being connected (Loki's message).
	ErrTailNoIngesters = errors.New("all ingesters closed the connection")
)

// tailTargets lists the ingesters a tail follows.
type tailTargets interface {
	// tailAddrs returns the ingesters to follow and how many of them may
	// fail to answer.
	tailAddrs() ([]string, int, error)
	tailSource(addr string) (TailSource, error)
}

// localTarget is the in-process ingester of the single binary.
type localTarget struct{ src TailSource }

func (l localTarget) tailAddrs() ([]string, int, error)     { return []string{"in-process"}, 0, nil }
func (l localTarget) tailSource(string) (TailSource, error) { return l.src, nil }
func (in *Ingesters) tailSource(addr string) (TailSource, error) {
	return tailSourceOf(in.clients(addr))
}

func tailSourceOf(s Source, err error) (TailSource, error) {
	if err != nil {
		return nil, err
	}
	ts, ok := s.(TailSource)
	if !ok {
		return nil, ErrTailUnsupported
	}
	return ts, nil
}

// tailAddrs returns the ring's read set, with the failures a read absorbs.
func (in *Ingesters) tailAddrs() ([]string, int, error) {
	rs, err := in.ring.GetReplicationSetForOperation(ring.Read)
	if errors.Is(err, ring.ErrEmptyRing) {
		return nil, 0, nil
	}
	if err != nil {
		return nil, 0, fmt.Errorf("ingesters for read: %w", err)
	}
	addrs := make([]string, len(rs.Instances))
	for i := range rs.Instances {
		addrs[i] = rs.Instances[i].Addr
	}
	maxErrors := rs.MaxErrors
	if rs.MaxUnavailableZones > 0 {
		maxErrors = 1 // as forEach: one instance while a zone is lost
	}
	return addrs, maxErrors, nil
}

// Tail follows the tenant's entries of r.Query until ctx is done (it
// returns nil), r.History or r.Send fails, or no ingester can be followed
// (ErrTailNoIngesters). It returns once it follows every ingester of the
// read set but as many as a read may lose; those that fail, new ones and
// those whose tail breaks are tried again every 5 s.
func (q *Querier) Tail(ctx context.Context, tenant string, r TailRequest) error {
	var targets tailTargets
	switch s := q.ingesters.(type) {
	case tailTargets:
		targets = s
	case TailSource:
		targets = localTarget{s}
	default:
		return ErrTailUnsupported
	}
	return newTailRun(targets, tenant, r, q.logger(), q.now).run(ctx)
}

func newTailRun(targets tailTargets, tenant string, r TailRequest, logger *slog.Logger, now func() time.Time) *tailRun {
	return &tailRun{
		tenant: tenant, req: r, targets: targets, logger: logger, now: now, checkEvery: tailCheckPeriod,
		merger: newTailMerger(int64(r.DelayFor)),
		wake:   make(chan struct{}, 1), events: make(chan tailEvent, 16),
		conns: map[string]*tailConn{},
	}
}

// run connects, adds the history and sends until the tail ends.
func (t *tailRun) run(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer func() {
		cancel()
		go func() {
			t.wg.Wait()
			close(t.events)
		}()
		for range t.events { // the connections' last events
		}
	}()
	if err := t.start(ctx); err != nil || ctx.Err() != nil {
		return err
	}
	if t.req.History != nil {
		hist, err := t.req.History(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		t.merger.add(hist, nil, t.now().UnixNano())
	}
	return t.loop(ctx)
}

func (q *Querier) logger() *slog.Logger {
	if in, ok := q.ingesters.(*Ingesters); ok && in.logger != nil {
		return in.logger
	}
	return slog.New(slog.DiscardHandler)
}

// tailRun is the state of one tail; its fields other than the merger and
// the channels belong to the goroutine running Tail.
type tailRun struct {
	tenant     string
	req        TailRequest
	targets    tailTargets
	logger     *slog.Logger
	now        func() time.Time
	checkEvery time.Duration // tailCheckPeriod
	merger     *tailMerger
	wake       chan struct{}  // capacity 1: entries were added
	events     chan tailEvent // from the connections
	wg         sync.WaitGroup

	conns  map[string]*tailConn // by address
	nextID uint64
}

// tailConn is the tail of one ingester.
type tailConn struct {
	id         uint64
	cancel     context.CancelFunc
	registered bool
}

// tailEvent is a connection registered (ended false) or ended, with the
// error that ended it.
type tailEvent struct {
	addr  string
	id    uint64
	ended bool
	err   error
}

// start connects to the read set and waits until each connection has
// registered or failed, failing when more fail than a read may lose.
func (t *tailRun) start(ctx context.Context) error {
	addrs, maxErrors, err := t.targets.tailAddrs()
	if err != nil {
		return err
	}
	waiting := map[uint64]string{}
	for _, addr := range addrs {
		waiting[t.connect(ctx, addr)] = addr
	}
	var errs []error
	for len(waiting) > 0 {
		var ev tailEvent
		select {
		case <-ctx.Done():
			return nil
		case ev = <-t.events:
		}
		if _, ok := waiting[ev.id]; !ok {
			continue
		}
		delete(waiting, ev.id)
		if !t.handle(ev) {
			errs = append(errs, fmt.Errorf("tail ingester %s: %w", ev.addr, ev.err))
		}
	}
	if len(errs) > maxErrors {
		return errors.Join(errs...)
	}
	for _, err := range errs {
		t.logger.Warn("tail: ingester failed; following its replicas", "err", err)
	}
	return nil
}

// connect starts following addr and returns the connection's id. Its
// events come on t.events.
func (t *tailRun) connect(ctx context.Context, addr string) uint64 {
	t.nextID++
	id := t.nextID
	cctx, cancel := context.WithCancel(ctx)
	t.conns[addr] = &tailConn{id: id, cancel: cancel}
	t.wg.Add(1)
	go func() {
		defer t.wg.Done()
		defer cancel()
		src, err := t.targets.tailSource(addr)
		if err == nil {
			registered := false
			err = src.Tail(cctx, t.tenant, t.req.Query, func(entries, dropped []iter.StreamEntry) error {
				if !registered {
					registered = true
					t.events <- tailEvent{addr: addr, id: id}
				}
				if len(entries) > 0 || len(dropped) > 0 {
					t.merger.add(entries, dropped, t.now().UnixNano())
					select {
					case t.wake <- struct{}{}:
					default:
					}
				}
				return nil
			})
			if err == nil && cctx.Err() == nil {
				err = errors.New("tail ended")
			}
		}
		t.events <- tailEvent{addr: addr, id: id, ended: true, err: err}
	}()
	return id
}

// handle applies a connection's event and reports whether the connection
// is alive.
func (t *tailRun) handle(ev tailEvent) bool {
	c := t.conns[ev.addr]
	if c == nil || c.id != ev.id {
		return false // an earlier connection to that address
	}
	if !ev.ended {
		c.registered = true
		return true
	}
	delete(t.conns, ev.addr)
	if ev.err != nil && !errors.Is(ev.err, context.Canceled) {
		t.logger.Warn("tail: ingester connection ended; reconnecting at the next check", "ingester", ev.addr, "err", ev.err)
	}
	return false
}

// loop sends the entries as they become due and keeps the connections up.
func (t *tailRun) loop(ctx context.Context) error {
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	check := time.NewTicker(t.checkEvery)
	defer check.Stop()
	idleChecks := 0 // checks in a row that found no connection at all
	for {
		if err := t.release(); err != nil {
			return err
		}
		if at, ok := t.merger.next(); ok {
			timer.Reset(time.Duration(at - t.now().UnixNano()))
		} else {
			timer.Stop()
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.wake:
		case <-timer.C:
		case ev := <-t.events:
			t.handle(ev)
		case <-check.C:
			switch {
			case len(t.conns) == 0:
				// Every attempt since the last check failed, or the ring
				// has no ingester.
				if idleChecks++; idleChecks >= 2 {
					return ErrTailNoIngesters
				}
			case t.anyRegistered():
				idleChecks = 0
			}
			addrs, _, err := t.targets.tailAddrs()
			if err != nil {
				t.logger.Warn("tail: listing the ingesters failed", "err", err)
				continue
			}
			for _, addr := range addrs {
				if t.conns[addr] == nil {
					t.connect(ctx, addr)
				}
			}
		}
	}
}

func (t *tailRun) anyRegistered() bool {
	for _, c := range t.conns {
		if c.registered {
			return true
		}
	}
	return false
}

// release sends the entries that are due, with the dropped ones.
func (t *tailRun) release() error {
	due := t.merger.due(t.now().UnixNano())
	for len(due) > 0 {
		n := min(len(due), TailMaxEntriesPerSend)
		if err := t.req.Send(due[:n:n], t.merger.takeDropped()); err != nil {
			return err
		}
		due = due[n:]
	}
	return nil
}
