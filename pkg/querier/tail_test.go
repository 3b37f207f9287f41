package querier

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	"go.uber.org/goleak"

	"github.com/skald-logs/skald/pkg/iter"
	"github.com/skald-logs/skald/pkg/logproto"
	"github.com/skald-logs/skald/pkg/ring"
)

var (
	webLabels = labels.FromStrings("app", "web")
	dbLabels  = labels.FromStrings("app", "db")
)

func se(lbls labels.Labels, ts int64, line string, sm ...string) iter.StreamEntry {
	e := iter.StreamEntry{Entry: logproto.Entry{Timestamp: ts, Line: line}, Labels: lbls, Hash: lbls.Hash()}
	for i := 0; i+1 < len(sm); i += 2 {
		e.StructuredMetadata = append(e.StructuredMetadata, logproto.LabelAdapter{Name: sm[i], Value: sm[i+1]})
	}
	return e
}

func show(es []iter.StreamEntry) string {
	var b strings.Builder
	for i, e := range es {
		if i > 0 {
			b.WriteString(" ")
		}
		fmt.Fprintf(&b, "%s/%d/%s", e.Labels.Get("app"), e.Timestamp, e.Line)
	}
	return b.String()
}

func TestTailMerger(t *testing.T) {
	type step struct {
		add      []iter.StreamEntry
		dropped  []iter.StreamEntry
		at       int64 // now, for add and due
		due      string
		next     int64 // -1: nothing held
		takeDrop string
	}
	for _, tc := range []struct {
		name       string
		delay      int64
		maxSeen    int
		maxPending int
		steps      []step
	}{
		{
			name: "in time order, each once its delay has passed", delay: 2,
			steps: []step{
				{add: []iter.StreamEntry{se(webLabels, 5, "b"), se(webLabels, 3, "a"), se(webLabels, 8, "c")}, at: 6, due: "web/3/a", next: 7},
				{at: 7, due: "web/5/b", next: 10},
				{add: []iter.StreamEntry{se(webLabels, 1, "late")}, at: 8, due: "web/1/late", next: 10},
				{at: 20, due: "web/8/c", next: -1},
			},
		},
		{
			name: "ties by stream, then line",
			steps: []step{
				{add: []iter.StreamEntry{se(webLabels, 1, "y"), se(webLabels, 1, "x"), se(dbLabels, 1, "z")}, at: 1, due: "db/1/z web/1/x web/1/y", next: -1},
			},
		},
		{
			name: "copies from replicas and the history go once",
			steps: []step{
				{add: []iter.StreamEntry{se(webLabels, 1, "a"), se(webLabels, 2, "b")}, at: 5, due: "web/1/a web/2/b", next: -1},
				{add: []iter.StreamEntry{se(webLabels, 2, "b"), se(webLabels, 1, "a"), se(webLabels, 3, "c")}, at: 6, due: "web/3/c", next: -1},
				// Same time and line in another stream, another line, or
				// other metadata: different entries.
				{add: []iter.StreamEntry{se(dbLabels, 1, "a"), se(webLabels, 1, "a2"), se(webLabels, 1, "a", "trace_id", "t")}, at: 7,
					due: "db/1/a web/1/a web/1/a2", next: -1},
			},
		},
		{
			name: "copies are recognised for the dedupe window only",
			steps: []step{
				{add: []iter.StreamEntry{se(webLabels, 1, "a")}, at: 10, due: "web/1/a", next: -1},
				{add: []iter.StreamEntry{se(webLabels, 1, "a")}, at: 10 + tailDedupeWindow, due: "", next: -1},
				{add: []iter.StreamEntry{se(webLabels, 1, "a")}, at: 11 + tailDedupeWindow, due: "web/1/a", next: -1},
			},
		},
		{
			name: "and as many as maxSeen", maxSeen: 2,
			steps: []step{
				{add: []iter.StreamEntry{se(webLabels, 1, "a"), se(webLabels, 2, "b"), se(webLabels, 3, "c")}, at: 5, due: "web/1/a web/2/b web/3/c", next: -1},
				// Only the two newest are remembered.
				{add: []iter.StreamEntry{se(webLabels, 3, "c"), se(webLabels, 1, "a")}, at: 6, due: "web/1/a", next: -1},
			},
		},
		{
			name: "entries beyond maxPending are dropped and reported once", maxPending: 2, delay: 100,
			steps: []step{
				{add: []iter.StreamEntry{se(webLabels, 1, "a"), se(webLabels, 2, "b"), se(webLabels, 3, "c", "trace_id", "t")}, at: 1, due: "", next: 101,
					takeDrop: "web/3/"},
				{add: []iter.StreamEntry{se(webLabels, 3, "c", "trace_id", "t")}, at: 2, due: "", next: 101},
				{at: 200, due: "web/1/a web/2/b", next: -1},
			},
		},
		{
			name: "drops the sources report are reported once",
			steps: []step{
				{dropped: []iter.StreamEntry{se(webLabels, 4, ""), se(webLabels, 4, ""), se(dbLabels, 4, ""), se(webLabels, 5, "")}, at: 1, next: -1,
					takeDrop: "web/4/ db/4/ web/5/"},
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := newTailMerger(tc.delay)
			if tc.maxSeen > 0 {
				m.maxSeen = tc.maxSeen
			}
			if tc.maxPending > 0 {
				m.maxPending = tc.maxPending
			}
			for i, s := range tc.steps {
				m.add(s.add, s.dropped, s.at)
				if got := show(m.due(s.at)); got != s.due {
					t.Errorf("step %d: due %q, want %q", i, got, s.due)
				}
				at, ok := m.next()
				if !ok {
					at = -1
				}
				if at != s.next {
					t.Errorf("step %d: next %d, want %d", i, at, s.next)
				}
				if got := show(m.takeDropped()); got != s.takeDrop {
					t.Errorf("step %d: dropped %q, want %q", i, got, s.takeDrop)
				}
			}
		})
	}
}

func TestTailMergerDropCap(t *testing.T) {
	m := newTailMerger(0)
	for i := range 3 * tailMaxDropped {
		m.add(nil, []iter.StreamEntry{se(webLabels, int64(i), "")}, 0)
	}
	d := m.takeDropped()
	if len(d) != tailMaxDropped || d[0].Timestamp != 0 || d[len(d)-1].Timestamp != tailMaxDropped-1 {
		t.Fatalf("%d dropped reported, from %d to %d", len(d), d[0].Timestamp, d[len(d)-1].Timestamp)
	}
	if len(m.takeDropped()) != 0 {
		t.Error("dropped reported twice")
	}
}

// tailBatch is what a fakeTail sends; done, if set, is closed once sent.
type tailBatch struct {
	entries, dropped []iter.StreamEntry
	done             chan struct{}
}

// fakeTail is an ingester: Tail registers, then sends the batches fed to
// it until its context ends or it is told to break.
type fakeTail struct {
	source
	openErr    error
	feed       chan tailBatch
	broken     chan struct{} // a receive ends the current Tail with an error
	registered chan struct{} // one value per registration
	calls      atomic.Int32
}

func newFakeTail() *fakeTail {
	return &fakeTail{feed: make(chan tailBatch, 100), broken: make(chan struct{}), registered: make(chan struct{}, 100)}
}

func (f *fakeTail) Tail(ctx context.Context, _, query string, send func(entries, dropped []iter.StreamEntry) error) error {
	f.calls.Add(1)
	if f.openErr != nil {
		return f.openErr
	}
	if query != `{app=~"web|db"}` {
		return fmt.Errorf("query %q", query)
	}
	if err := send(nil, nil); err != nil {
		return err
	}
	f.registered <- struct{}{}
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-f.broken:
			return errors.New("connection reset")
		case b := <-f.feed:
			if err := send(b.entries, b.dropped); err != nil {
				return err
			}
			if b.done != nil {
				close(b.done)
			}
		}
	}
}

// fakeTargets is a read set of fake ingesters.
type fakeTargets struct {
	mtx       sync.Mutex
	addrs     []string
	maxErrors int
	srcs      map[string]*fakeTail
}

func (f *fakeTargets) tailAddrs() ([]string, int, error) {
	f.mtx.Lock()
	defer f.mtx.Unlock()
	return slices.Clone(f.addrs), f.maxErrors, nil
}

func (f *fakeTargets) tailSource(addr string) (TailSource, error) {
	f.mtx.Lock()
	defer f.mtx.Unlock()
	return f.srcs[addr], nil
}

func newTargets(n, maxErrors int) *fakeTargets {
	f := &fakeTargets{maxErrors: maxErrors, srcs: map[string]*fakeTail{}}
	for i := range n {
		addr := fmt.Sprint("ing-", i)
		f.addrs = append(f.addrs, addr)
		f.srcs[addr] = newFakeTail()
	}
	return f
}

// tailRecorder collects what a tail sends.
type tailRecorder struct {
	got     chan iter.StreamEntry
	dropped chan iter.StreamEntry
	sendErr error
}

func newRecorder() *tailRecorder {
	return &tailRecorder{got: make(chan iter.StreamEntry, 10000), dropped: make(chan iter.StreamEntry, 10000)}
}

func (r *tailRecorder) send(entries, dropped []iter.StreamEntry) error {
	if len(entries) == 0 || len(entries) > TailMaxEntriesPerSend {
		return fmt.Errorf("send of %d entries", len(entries))
	}
	for _, d := range dropped {
		r.dropped <- d
	}
	for _, e := range entries {
		r.got <- e
	}
	return r.sendErr
}

// until reads entries up to and including the one with line last.
func (r *tailRecorder) until(t *testing.T, last string) []iter.StreamEntry {
	t.Helper()
	var out []iter.StreamEntry
	for {
		select {
		case e := <-r.got:
			out = append(out, e)
			if e.Line == last {
				return out
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("no %q after 10s; got %s", last, show(out))
		}
	}
}

// startRun runs a tail over targets in a goroutine; its error comes on
// the returned channel.
func startRun(t *testing.T, targets tailTargets, r TailRequest, checkEvery time.Duration) (context.CancelFunc, chan error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	run := newTailRun(targets, "t", r, nil, time.Now)
	run.logger = testLogger()
	if checkEvery > 0 {
		run.checkEvery = checkEvery
	}
	done := make(chan error, 1)
	go func() { done <- run.run(ctx) }()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	return cancel, done
}

func waitRegistered(t *testing.T, fs ...*fakeTail) {
	t.Helper()
	for _, f := range fs {
		select {
		case <-f.registered:
		case <-time.After(10 * time.Second):
			t.Fatal("a source was not tailed within 10s")
		}
	}
}

const query = `{app=~"web|db"}`

func TestTailMergesReplicasAndHistory(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	targets := newTargets(3, 1)
	rec := newRecorder()
	now := time.Now().UnixNano()
	liveFirst := make(chan struct{})
	req := TailRequest{Query: query, Send: rec.send, History: func(ctx context.Context) ([]iter.StreamEntry, error) {
		// A live copy of the newest history entry came already.
		<-liveFirst
		return []iter.StreamEntry{se(webLabels, now-3, "h1"), se(webLabels, now-2, "h2")}, nil
	}}
	cancel, done := startRun(t, targets, req, 0)
	srcs := []*fakeTail{targets.srcs["ing-0"], targets.srcs["ing-1"], targets.srcs["ing-2"]}
	waitRegistered(t, srcs...)
	srcs[0].feed <- tailBatch{entries: []iter.StreamEntry{se(webLabels, now-2, "h2"), se(dbLabels, now-1, "l1")}, done: liveFirst}
	// Each replica sends the same entries, batched its own way; one also
	// reports a drop.
	live := []iter.StreamEntry{se(webLabels, now, "l2"), se(dbLabels, now+1, "l3"), se(webLabels, now+2, "l4", "trace_id", "x")}
	srcs[1].feed <- tailBatch{entries: slices.Concat([]iter.StreamEntry{se(dbLabels, now-1, "l1")}, live)}
	dropSeen := make(chan struct{})
	srcs[2].feed <- tailBatch{entries: live[:1], dropped: []iter.StreamEntry{se(dbLabels, now+5, "")}, done: dropSeen}
	srcs[2].feed <- tailBatch{entries: live[1:]}
	srcs[0].feed <- tailBatch{entries: slices.Concat(live[2:], live[:2])}
	got := rec.until(t, "l4")
	<-dropSeen // reported with the next entries sent
	// A sentinel through every replica: nothing came twice before it.
	for _, s := range srcs {
		s.feed <- tailBatch{entries: []iter.StreamEntry{se(webLabels, now+10, "sentinel")}}
	}
	got = append(got, rec.until(t, "sentinel")...)
	if show(got) != fmt.Sprintf("web/%d/h1 web/%d/h2 db/%d/l1 web/%d/l2 db/%d/l3 web/%d/l4 web/%d/sentinel", now-3, now-2, now-1, now, now+1, now+2, now+10) {
		t.Errorf("sent %s", show(got))
	}
	if len(rec.dropped) != 1 {
		t.Errorf("%d dropped reported, want 1", len(rec.dropped))
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("tail ended with %v", err)
	}
	done <- nil
}

func TestTailFailures(t *testing.T) {
	down := errors.New("connection refused")
	t.Run("an ingester down within the budget", func(t *testing.T) {
		targets := newTargets(3, 1)
		targets.srcs["ing-1"].openErr = down
		rec := newRecorder()
		startRun(t, targets, TailRequest{Query: query, Send: rec.send}, 0)
		waitRegistered(t, targets.srcs["ing-0"], targets.srcs["ing-2"])
		targets.srcs["ing-2"].feed <- tailBatch{entries: []iter.StreamEntry{se(webLabels, 1, "x")}}
		rec.until(t, "x")
	})
	t.Run("too many down", func(t *testing.T) {
		targets := newTargets(3, 1)
		targets.srcs["ing-0"].openErr = down
		targets.srcs["ing-2"].openErr = down
		_, done := startRun(t, targets, TailRequest{Query: query, Send: newRecorder().send}, 0)
		err := <-done
		done <- nil
		if !errors.Is(err, down) || !strings.Contains(err.Error(), "ing-0") {
			t.Errorf("tail ended with %v", err)
		}
	})
	t.Run("the history fails", func(t *testing.T) {
		targets := newTargets(1, 0)
		_, done := startRun(t, targets, TailRequest{Query: query, Send: newRecorder().send, History: func(context.Context) ([]iter.StreamEntry, error) {
			return nil, down
		}}, 0)
		err := <-done
		done <- nil
		if err != down {
			t.Errorf("tail ended with %v", err)
		}
	})
	t.Run("the client fails", func(t *testing.T) {
		targets := newTargets(1, 0)
		rec := newRecorder()
		rec.sendErr = errors.New("broken pipe")
		_, done := startRun(t, targets, TailRequest{Query: query, Send: rec.send}, 0)
		waitRegistered(t, targets.srcs["ing-0"])
		targets.srcs["ing-0"].feed <- tailBatch{entries: []iter.StreamEntry{se(webLabels, 1, "x")}}
		err := <-done
		done <- nil
		if err != rec.sendErr {
			t.Errorf("tail ended with %v", err)
		}
	})
	t.Run("no ingester", func(t *testing.T) {
		_, done := startRun(t, newTargets(0, 0), TailRequest{Query: query, Send: newRecorder().send}, time.Millisecond)
		err := <-done
		done <- nil
		if err != ErrTailNoIngesters {
			t.Errorf("tail ended with %v", err)
		}
	})
}

func TestTailReconnects(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	targets := newTargets(1, 0)
	rec := newRecorder()
	cancel, done := startRun(t, targets, TailRequest{Query: query, Send: rec.send}, time.Millisecond)
	a := targets.srcs["ing-0"]
	waitRegistered(t, a)
	a.broken <- struct{}{}
	waitRegistered(t, a) // again, at a check
	a.feed <- tailBatch{entries: []iter.StreamEntry{se(webLabels, 1, "after the break")}}
	rec.until(t, "after the break")
	// An ingester that joins is followed from the next check.
	b := newFakeTail()
	targets.mtx.Lock()
	targets.addrs = append(targets.addrs, "ing-new")
	targets.srcs["ing-new"] = b
	targets.mtx.Unlock()
	waitRegistered(t, b)
	b.feed <- tailBatch{entries: []iter.StreamEntry{se(webLabels, 2, "from the new one")}}
	rec.until(t, "from the new one")
	cancel()
	if err := <-done; err != nil {
		t.Errorf("tail ended with %v", err)
	}
	done <- nil
}

// fakeRing is a ReadRing with a fixed read set.
type fakeRing struct{ rs ring.ReplicationSet }

func (f fakeRing) GetReplicationSetForOperation(ring.Operation) (ring.ReplicationSet, error) {
	return f.rs, nil
}

func TestQuerierTail(t *testing.T) {
	// Single binary: the ingester in process.
	local := newFakeTail()
	rec := newRecorder()
	q := New(Config{}, local, &source{}, nil)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- q.Tail(ctx, "t", TailRequest{Query: query, Send: rec.send}) }()
	waitRegistered(t, local)
	local.feed <- tailBatch{entries: []iter.StreamEntry{se(webLabels, 1, "local")}}
	rec.until(t, "local")
	cancel()
	if err := <-done; err != nil {
		t.Errorf("local tail: %v", err)
	}

	// Cluster: every ingester of the ring's read set, through the client
	// pool.
	srcs := map[string]*fakeTail{"a:9095": newFakeTail(), "b:9095": newFakeTail()}
	in := NewIngesters(fakeRing{ring.ReplicationSet{Instances: []ring.InstanceDesc{{Addr: "a:9095"}, {Addr: "b:9095"}}}},
		func(addr string) (Source, error) { return srcs[addr], nil }, testLogger())
	q = New(Config{}, in, &source{}, nil)
	ctx, cancel = context.WithCancel(context.Background())
	go func() { done <- q.Tail(ctx, "t", TailRequest{Query: query, Send: rec.send}) }()
	waitRegistered(t, srcs["a:9095"], srcs["b:9095"])
	for _, s := range srcs {
		s.feed <- tailBatch{entries: []iter.StreamEntry{se(webLabels, 1, "replicated")}}
		s.feed <- tailBatch{entries: []iter.StreamEntry{se(webLabels, 2, "sentinel")}}
	}
	if got := show(rec.until(t, "sentinel")); got != "web/1/replicated web/2/sentinel" {
		t.Errorf("cluster tail sent %s", got)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("cluster tail: %v", err)
	}

	// A source that cannot tail.
	if err := New(Config{}, &source{}, &source{}, nil).Tail(context.Background(), "t", TailRequest{Query: query, Send: rec.send}); err != ErrTailUnsupported {
		t.Errorf("untailable ingesters: %v", err)
	}
}

func testLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }

// BenchmarkTailMerge measures the querier's side of a tail with RF=3: per
// op, three replicas deliver the same 100 entries, and they are released.
func BenchmarkTailMerge(b *testing.B) {
	m := newTailMerger(0)
	batch := make([]iter.StreamEntry, 100)
	var size int64
	for i := range batch {
		batch[i] = se(webLabels, 0, fmt.Sprintf(`level=info msg="GET /api/v1/users 200" duration=12ms n=%d`, i), "trace_id", "0af7651916cd43dd")
		size += int64(len(batch[i].Line))
	}
	b.SetBytes(size)
	b.ReportAllocs()
	ts := int64(0)
	for b.Loop() {
		for i := range batch {
			ts++
			batch[i].Timestamp = ts
		}
		for range 3 {
			m.add(batch, nil, ts)
		}
		if got := m.due(ts); len(got) != len(batch) {
			b.Fatalf("%d due", len(got))
		}
	}
}

func TestEntryHeapOrder(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	var h entryHeap
	var want []iter.StreamEntry
	for range 2000 {
		lbls := webLabels
		if rng.IntN(2) == 0 {
			lbls = dbLabels
		}
		e := se(lbls, rng.Int64N(50), fmt.Sprint(rng.IntN(20)))
		want = append(want, e)
		h.push(e)
		if rng.IntN(4) == 0 { // interleave pops with pushes
			got := h.pop()
			i := slices.IndexFunc(want, func(x iter.StreamEntry) bool { return !entryLess(x, got) && !entryLess(got, x) })
			for _, x := range want {
				if entryLess(x, got) {
					t.Fatalf("popped %s while %s was held", show([]iter.StreamEntry{got}), show([]iter.StreamEntry{x}))
				}
			}
			want = slices.Delete(want, i, i+1)
		}
	}
	var got []iter.StreamEntry
	for len(h) > 0 {
		got = append(got, h.pop())
	}
	slices.SortStableFunc(want, func(a, b iter.StreamEntry) int {
		switch {
		case entryLess(a, b):
			return -1
		case entryLess(b, a):
			return 1
		}
		return 0
	})
	if show(got) != show(want) {
		t.Errorf("heap order differs from a sort")
	}
}

func entryLess(a, b iter.StreamEntry) bool {
	h := entryHeap{a, b}
	return h.less(0, 1)
}
