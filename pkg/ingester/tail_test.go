package ingester

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"go.uber.org/goleak"

	"github.com/skald-logs/skald/pkg/iter"
	"github.com/skald-logs/skald/pkg/logproto"
	"github.com/skald-logs/skald/pkg/validation"
)

// tailBatch is one call of a tail's send.
type tailBatch struct {
	entries, dropped []iter.StreamEntry
}

// tailFunc is Ingester.Tail or client.Client.Tail.
type tailFunc func(ctx context.Context, tenant, query string, send func(entries, dropped []iter.StreamEntry) error) error

// runningTail is a tail running in its own goroutine.
type runningTail struct {
	batches chan tailBatch
	done    chan error
	cancel  context.CancelFunc
	// gate, when set, is received from before each batch is handed over:
	// the tail's sender blocks there.
	gate     chan struct{}
	openGate func() // closes gate, once
	// entered gets a value each time the sender is called with a batch.
	entered chan struct{}
}

// openTail starts a tail and returns once it is registered.
func openTail(t *testing.T, tail tailFunc, tenant, query string, gated bool) *runningTail {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	rt := &runningTail{batches: make(chan tailBatch, 1000), done: make(chan error, 1), cancel: cancel, entered: make(chan struct{}, 1000)}
	if gated {
		rt.gate = make(chan struct{})
		rt.openGate = sync.OnceFunc(func() { close(rt.gate) })
	}
	registered := make(chan struct{})
	calls := 0
	go func() {
		rt.done <- tail(ctx, tenant, query, func(entries, dropped []iter.StreamEntry) error {
			calls++
			if calls == 1 {
				if len(entries) != 0 || len(dropped) != 0 {
					return fmt.Errorf("first call has %d entries, %d dropped", len(entries), len(dropped))
				}
				close(registered)
				return nil
			}
			rt.entered <- struct{}{}
			if rt.gate != nil {
				<-rt.gate
			}
			rt.batches <- tailBatch{entries, dropped}
			return nil
		})
	}()
	select {
	case <-registered:
	case err := <-rt.done:
		t.Fatalf("tail ended before it was registered: %v", err)
	}
	t.Cleanup(func() {
		cancel()
		if rt.gate != nil {
			rt.openGate()
		}
		<-rt.done
	})
	return rt
}

// collect reads batches until it has n entries.
func (rt *runningTail) collect(t *testing.T, n int) (entries, dropped []iter.StreamEntry) {
	t.Helper()
	for len(entries) < n {
		select {
		case b := <-rt.batches:
			entries = append(entries, b.entries...)
			dropped = append(dropped, b.dropped...)
		case err := <-rt.done:
			t.Fatalf("tail ended after %d of %d entries: %v", len(entries), n, err)
		case <-time.After(10 * time.Second):
			t.Fatalf("%d of %d entries after 10s", len(entries), n)
		}
	}
	return entries, dropped
}

func describe(es []iter.StreamEntry) []string {
	out := make([]string, len(es))
	for i, e := range es {
		out[i] = fmt.Sprintf("%s %d %s", e.Labels, e.Timestamp, e.Line)
		if len(e.StructuredMetadata) > 0 {
			out[i] += fmt.Sprintf(" sm=%v", e.StructuredMetadata)
		}
		if len(e.Parsed) > 0 {
			out[i] += fmt.Sprintf(" parsed=%v", e.Parsed)
		}
	}
	return out
}

func push(t *testing.T, ing *Ingester, tenant string, streams ...logproto.Stream) error {
	t.Helper()
	return ing.Push(context.Background(), tenant, &logproto.PushRequest{Streams: streams})
}

func TestTailSendsWhatIsAppended(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	ing := testIngester(t, 0)
	sec := int64(time.Second)
	now := time.Now().UnixNano()
	window := int64(ing.cfg.MaxChunkAge / 2)
	// Pushed before the tail: never sent.
	if err := push(t, ing, "t", pushStream(`{app="web"}`, logproto.Entry{Timestamp: now, Line: "level=info before"})); err != nil {
		t.Fatal(err)
	}
	rt := openTail(t, ing.Tail, "t", `{app="web"} |= "level" | logfmt`, false)

	err := push(t, ing, "t",
		pushStream(`{app="web"}`,
			logproto.Entry{Timestamp: now + sec, Line: "level=info msg=one"},
			logproto.Entry{Timestamp: now, Line: "level=info before"},                  // duplicate of an appended entry
			logproto.Entry{Timestamp: now - 60*sec, Line: "level=warn msg=late"},       // late, still accepted
			logproto.Entry{Timestamp: now - window - sec, Line: "level=error msg=old"}, // refused: too far behind
			logproto.Entry{Timestamp: now + 2*sec, Line: "no match"},                   // filtered by the pipeline
			logproto.Entry{Timestamp: now + 3*sec, Line: "level=debug msg=meta", StructuredMetadata: []logproto.LabelAdapter{{Name: "trace_id", Value: "abc"}}},
		),
		pushStream(`{app="db"}`, logproto.Entry{Timestamp: now, Line: "level=info other stream"}),
	)
	if !errors.Is(err, validation.ErrInvalid) {
		t.Fatalf("push: %v, want the too-old entry refused", err)
	}
	// Another tenant's entries never reach this tail.
	if err := push(t, ing, "u", pushStream(`{app="web"}`, logproto.Entry{Timestamp: now + 4*sec, Line: "level=info tenant u"})); err != nil {
		t.Fatal(err)
	}
	if err := push(t, ing, "t", pushStream(`{app="web"}`, logproto.Entry{Timestamp: now + 5*sec, Line: "level=info msg=last"})); err != nil {
		t.Fatal(err)
	}
	got, dropped := rt.collect(t, 4)
	want := []string{
		fmt.Sprintf(`{app="web"} %d level=info msg=one parsed=[{level info} {msg one}]`, now+sec),
		fmt.Sprintf(`{app="web"} %d level=warn msg=late parsed=[{level warn} {msg late}]`, now-60*sec),
		fmt.Sprintf(`{app="web"} %d level=debug msg=meta sm=[{trace_id abc}] parsed=[{level debug} {msg meta}]`, now+3*sec),
		fmt.Sprintf(`{app="web"} %d level=info msg=last parsed=[{level info} {msg last}]`, now+5*sec),
	}
	if d := describe(got); !slices.Equal(d, want) || len(dropped) != 0 {
		t.Fatalf("tailed\n%s\nwant\n%s\ndropped %d", strings.Join(d, "\n"), strings.Join(want, "\n"), len(dropped))
	}
	rt.cancel()
	if err := <-rt.done; err != nil {
		t.Fatalf("tail ended with %v", err)
	}
	rt.done <- nil // for the cleanup
	// Unregistered: pushes no longer look for tailers.
	inst := ing.instance("t", false)
	if inst.tails.load() != nil {
		t.Fatal("tailer still registered")
	}
	if err := push(t, ing, "t", pushStream(`{app="web"}`, logproto.Entry{Timestamp: now + 6*sec, Line: "level=info after"})); err != nil {
		t.Fatal(err)
	}
	for _, st := range inst.snapshot() {
		if st.lbls.Get("app") == "web" && st.tail != nil {
			t.Errorf("stream %s keeps its tail view", st.lbls)
		}
	}
}

func TestTailFollowsNewStreamsAndSeveralTails(t *testing.T) {
	ing := testIngester(t, 0)
	a := openTail(t, ing.Tail, "t", `{job="x"}`, false)
	b := openTail(t, ing.Tail, "t", `{job="x", app="b"}`, false)
	// Streams created after the tails opened are followed too.
	for i := range 3 {
		for _, app := range []string{"a", "b"} {
			if err := push(t, ing, "t", pushStream(fmt.Sprintf(`{job="x", app=%q}`, app), logproto.Entry{Timestamp: int64(i + 1), Line: app + fmt.Sprint(i)})); err != nil {
				t.Fatal(err)
			}
		}
	}
	ga, _ := a.collect(t, 6)
	gb, _ := b.collect(t, 3)
	lines := func(es []iter.StreamEntry) string {
		var s []string
		for _, e := range es {
			s = append(s, e.Line)
		}
		return strings.Join(s, " ")
	}
	if lines(ga) != "a0 b0 a1 b1 a2 b2" || lines(gb) != "b0 b1 b2" {
		t.Errorf("tail a %q, tail b %q", lines(ga), lines(gb))
	}
}

func TestTailDropsWhenBehind(t *testing.T) {
	ing := testIngester(t, 0)
	ing.tail.maxEntries = 3
	rt := openTail(t, ing.Tail, "t", `{app="web"}`, true)
	entry := func(i int) logproto.Entry {
		return logproto.Entry{Timestamp: int64(i), Line: fmt.Sprintf("line %d", i)}
	}
	// The first entry is taken and the sender blocks on it.
	if err := push(t, ing, "t", pushStream(`{app="web"}`, entry(1))); err != nil {
		t.Fatal(err)
	}
	<-rt.entered
	// Meanwhile pushes go on: three entries fit the buffer, the rest are
	// dropped, and no push waits.
	for i := 2; i <= 7; i++ {
		if err := push(t, ing, "t", pushStream(`{app="web"}`, entry(i))); err != nil {
			t.Fatal(err)
		}
	}
	rt.gate <- struct{}{}
	rt.gate <- struct{}{}
	got, dropped := rt.collect(t, 4)
	if d := describe(got); !slices.Equal(d, []string{`{app="web"} 1 line 1`, `{app="web"} 2 line 2`, `{app="web"} 3 line 3`, `{app="web"} 4 line 4`}) {
		t.Errorf("sent %q", d)
	}
	var ts []int64
	for _, d := range dropped {
		if d.Labels.String() != `{app="web"}` || d.Line != "" {
			t.Errorf("dropped entry %+v", d)
		}
		ts = append(ts, d.Timestamp)
	}
	if !slices.Equal(ts, []int64{5, 6, 7}) {
		t.Errorf("dropped %v, want 5 6 7", ts)
	}
	// The drop list is sent once; the buffer takes entries again.
	if err := push(t, ing, "t", pushStream(`{app="web"}`, entry(8))); err != nil {
		t.Fatal(err)
	}
	rt.gate <- struct{}{}
	got, dropped = rt.collect(t, 1)
	if len(got) != 1 || got[0].Line != "line 8" || len(dropped) != 0 {
		t.Errorf("after catching up: %q, %d dropped", describe(got), len(dropped))
	}
}

func TestTailEnds(t *testing.T) {
	ing := testIngester(t, 0)
	if err := ing.Tail(context.Background(), "t", `{app=~".*"}`, nil); !errors.Is(err, validation.ErrInvalid) {
		t.Errorf("bad selector: %v", err)
	}
	if err := ing.Tail(context.Background(), "t", `{app="x"} | json | line_format "{{"`, nil); !errors.Is(err, validation.ErrInvalid) {
		t.Errorf("bad pipeline: %v", err)
	}
	sendErr := errors.New("client gone")
	err := ing.Tail(context.Background(), "t", `{app="x"}`, func(_, _ []iter.StreamEntry) error { return sendErr })
	if err != sendErr {
		t.Errorf("failed send: %v", err)
	}
	// Stopping the ingester ends its tails.
	done := make(chan error, 1)
	registered := make(chan struct{})
	go func() {
		done <- ing.Tail(context.Background(), "t", `{app="x"}`, func(_, _ []iter.StreamEntry) error {
			close(registered)
			return nil
		})
	}()
	<-registered
	if err := ing.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := <-done; !errors.Is(err, ErrTailStopping) {
		t.Errorf("tail after Stop: %v", err)
	}
}

func TestTailOverGRPC(t *testing.T) {
	ing := testIngester(t, 0)
	_, c := serve(t, ing)
	rt := openTail(t, c.Tail, "t", `{app="web"} | logfmt`, false)
	var want []string
	var entries []logproto.Entry
	for i := range 600 { // more than one message
		e := logproto.Entry{Timestamp: int64(1000 + i), Line: fmt.Sprintf("n=%d", i)}
		if i%5 == 0 {
			e.StructuredMetadata = []logproto.LabelAdapter{{Name: "trace_id", Value: fmt.Sprint(i)}}
		}
		entries = append(entries, e)
		s := fmt.Sprintf(`{app="web"} %d n=%d`, 1000+i, i)
		if i%5 == 0 {
			s += fmt.Sprintf(" sm=[{trace_id %d}]", i)
		}
		want = append(want, s+fmt.Sprintf(" parsed=[{n %d}]", i))
	}
	if err := c.Push(context.Background(), "t", &logproto.PushRequest{Streams: []logproto.Stream{pushStream(`{app="web"}`, entries...)}}); err != nil {
		t.Fatal(err)
	}
	got, dropped := rt.collect(t, len(want))
	if d := describe(got); !slices.Equal(d, want) || len(dropped) != 0 {
		t.Fatalf("over gRPC: %d entries, %d dropped; first %q", len(d), len(dropped), d[:min(3, len(d))])
	}
	// A bad query is the caller's error.
	err := c.Tail(context.Background(), "t", `{app=~".*"}`, func(_, _ []iter.StreamEntry) error { return nil })
	if !errors.Is(err, validation.ErrInvalid) {
		t.Errorf("bad query over gRPC: %v", err)
	}
}

// TestTailOverGRPCReportsDrops blocks the client while the ingester keeps
// appending: once the gRPC flow-control windows are full the ingester's
// sender blocks, its buffer fills and it drops; the drops reach the client
// with the next message.
func TestTailOverGRPCReportsDrops(t *testing.T) {
	ing := testIngester(t, 0)
	ing.tail.maxEntries = 4
	_, c := serve(t, ing)
	rt := openTail(t, c.Tail, "t", `{app="web"}`, true)
	big := strings.Repeat("x", 256<<10)
	n := 0
	for ; n < 2000 && droppedCount(ing) == 0; n++ {
		if err := c.Push(context.Background(), "t", &logproto.PushRequest{Streams: []logproto.Stream{
			pushStream(`{app="web"}`, logproto.Entry{Timestamp: int64(n + 1), Line: fmt.Sprintf("%d %s", n, big)}),
		}}); err != nil {
			t.Fatal(err)
		}
	}
	if droppedCount(ing) == 0 {
		t.Fatalf("nothing dropped after %d pushes of 256KiB", n)
	}
	rt.openGate()
	// Read until a message reports the drops.
	var got, dropped []iter.StreamEntry
	for len(dropped) == 0 {
		g, d := rt.collect(t, 1)
		got, dropped = append(got, g...), append(dropped, d...)
	}
	if dropped[0].Labels.String() != `{app="web"}` || dropped[0].Timestamp <= 0 || dropped[0].Line != "" {
		t.Errorf("dropped entry %+v", dropped[0])
	}
	for i := 1; i < len(got); i++ {
		if got[i].Timestamp <= got[i-1].Timestamp {
			t.Fatalf("entries out of order: %d after %d", got[i].Timestamp, got[i-1].Timestamp)
		}
	}
	for _, d := range dropped {
		if slices.ContainsFunc(got, func(e iter.StreamEntry) bool { return e.Timestamp == d.Timestamp }) {
			t.Errorf("entry %d both sent and dropped", d.Timestamp)
		}
	}
}

func droppedCount(ing *Ingester) float64 { return testutil.ToFloat64(ing.tail.dropped) }

// BenchmarkPushTailed measures Ingester.Push of 100 HDFS lines (no WAL)
// with no tail, with a tail that follows the stream (its consumer keeps
// up) and with a tail that follows another stream.
func BenchmarkPushTailed(b *testing.B) {
	lines := benchLines(b)
	for _, mode := range []string{"none", "following", "other-stream"} {
		b.Run("tail="+mode, func(b *testing.B) {
			ing, err := New(testConfig(""), testLimits(), newFakeStore(), nil, nil)
			if err != nil {
				b.Fatal(err)
			}
			if err := ing.Recover(context.Background()); err != nil {
				b.Fatal(err)
			}
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			var tailed atomic.Int64
			if mode != "none" {
				q := `{app="hdfs"}`
				if mode == "other-stream" {
					q = `{app="other"}`
				}
				registered := make(chan struct{})
				go func() {
					first := true
					done <- ing.Tail(ctx, "bench", q, func(entries, _ []iter.StreamEntry) error {
						if first {
							first = false
							close(registered)
						}
						tailed.Add(int64(len(entries)))
						return nil
					})
				}()
				<-registered
			}
			_, size := benchRequest(lines, 100, 0)
			b.ReportAllocs()
			b.SetBytes(int64(size))
			seq := int64(0)
			for b.Loop() {
				seq++
				req, _ := benchRequest(lines, 100, seq)
				if err := ing.Push(context.Background(), "bench", req); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N*100)/b.Elapsed().Seconds(), "lines/s")
			cancel()
			if mode != "none" {
				<-done
			}
			ing.cfg.WAL.FlushOnShutdown = false
			_ = ing.Stop(context.Background())
		})
	}
}
