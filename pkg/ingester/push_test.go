package ingester

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
	"unsafe"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/skald-logs/skald/pkg/chunk"
	"github.com/skald-logs/skald/pkg/logproto"
	"github.com/skald-logs/skald/pkg/storage"
	"github.com/skald-logs/skald/pkg/validation"
)

func limitsWithMaxStreams(n int) *validation.Overrides {
	var l validation.Limits
	l.RegisterFlags(flag.NewFlagSet("limits", flag.PanicOnError))
	l.MaxGlobalStreamsPerUser = n
	return validation.NewOverrides(l, nil)
}

// A stream refused by the tenant's stream limit does not take the other
// streams of the push with it: they are appended, wherever they are in the
// request, and the push is answered with the limit's 429.
func TestPushStreamLimitKeepsOtherStreams(t *testing.T) {
	for _, tc := range []struct {
		name  string
		order []string // streams of the second push; "new" is over the limit
	}{
		{"refused stream first", []string{"new", "a", "b"}},
		{"refused stream between", []string{"a", "new", "b"}},
		{"refused stream last", []string{"a", "b", "new"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ing, err := New(testConfig(""), limitsWithMaxStreams(2), newFakeStore(), nil, nil)
			if err != nil {
				t.Fatal(err)
			}
			if err := ing.Recover(context.Background()); err != nil {
				t.Fatal(err)
			}
			p := &pusher{t: t, ing: ing, base: base}
			p.mustPush([]string{"a", "b"}, 2) // the tenant's two streams

			req := &logproto.PushRequest{}
			var want []line
			for k, s := range tc.order {
				l := line{stream: s, ts: base + int64(100+k), text: fmt.Sprintf("%s later %d", s, k)}
				req.Streams = append(req.Streams, logproto.Stream{
					Labels:  fmt.Sprintf(`{app="test", s=%q}`, s),
					Entries: []logproto.Entry{{Timestamp: l.ts, Line: l.text}},
				})
				if s != "new" {
					want = append(want, l)
				}
			}
			err = ing.Push(context.Background(), "tenant", req)
			if !errors.Is(err, validation.ErrRateLimited) {
				t.Fatalf("push with a stream over the limit: %v, want a rate-limit error", err)
			}
			exactlyOnce(t, "memory", memEntries(t, ing), append(p.acked, want...))
			if err := ing.Stop(context.Background()); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// A push that was admitted before Stop began is either refused or in the
// store once Stop returns: the final flush waits for the pushes in flight.
// Without a WAL an acknowledged push appended after the final flush would
// be lost.
func TestStopWaitsForPushesInFlight(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		store := newFakeStore()
		ing, err := New(testConfig(""), testLimits(), store, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := ing.Recover(context.Background()); err != nil {
			t.Fatal(err)
		}
		admitted, release := make(chan struct{}), make(chan struct{})
		var first atomic.Bool
		ing.now = func() time.Time {
			// The push calls now once it is admitted: hold it there.
			if first.CompareAndSwap(false, true) {
				close(admitted)
				<-release
			}
			return time.Unix(0, base)
		}
		p := &pusher{t: t, ing: ing, base: base}
		pushed := make(chan error, 1)
		go func() { pushed <- p.push([]string{"a"}, 3) }()
		<-admitted
		stopped := make(chan error, 1)
		go func() { stopped <- ing.Stop(context.Background()) }()
		synctest.Wait() // Stop has returned, or waits for the push
		close(release)
		if err := <-pushed; err != nil {
			p.acked = nil // refused: the client retries it
		}
		if err := <-stopped; err != nil {
			t.Fatal(err)
		}
		exactlyOnce(t, "store after stop", store.entries(t), p.acked)
	})
}

// within reports whether s lies in the memory of buf.
func within(s, buf string) bool {
	if len(s) == 0 || len(buf) == 0 {
		return false
	}
	p, start := uintptr(unsafe.Pointer(unsafe.StringData(s))), uintptr(unsafe.Pointer(unsafe.StringData(buf)))
	return p >= start && p < start+uintptr(len(buf))
}

// A stream keeps no reference to the request that created it: decoded
// pushes alias one copy of the whole body (logproto.UnmarshalPushRequest),
// which a stream's key would keep alive for as long as the stream lives.
func TestStreamKeepsNoRequestMemory(t *testing.T) {
	ing, err := New(testConfig(""), testLimits(), newFakeStore(), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := ing.Recover(context.Background()); err != nil {
		t.Fatal(err)
	}
	labels := `{app="test", s="a"}`
	body := string(append([]byte(labels), make([]byte, 1<<20)...)) // the rest of a large body
	req := &logproto.PushRequest{Streams: []logproto.Stream{{
		Labels:  body[:len(labels)],
		Entries: []logproto.Entry{{Timestamp: base, Line: body[:3]}},
	}}}
	if err := ing.Push(context.Background(), "tenant", req); err != nil {
		t.Fatal(err)
	}
	inst := ing.instance("tenant", false)
	n := 0
	for key, st := range inst.streams {
		n++
		if within(key, body) || within(st.key, body) {
			t.Errorf("stream %s: its key is part of the request body", key)
		}
	}
	if n != 1 {
		t.Fatalf("%d streams, want 1", n)
	}
	stopNoFlush(t, ing)
}

// An entry too large for any chunk (possible with max_line_size 0) is
// refused without leaving an empty chunk behind: an empty chunk was cut
// but never flushed, so it stayed queued forever and its stream was never
// removed.
func TestEntryTooLargeLeavesNoChunk(t *testing.T) {
	for _, tc := range []struct {
		name   string
		before int // entries of the stream before the large one
	}{
		{"new stream", 0},
		{"stream with an open chunk", 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := testConfig("")
			cfg.ChunkTargetSize = 1 << 10 // a large entry cuts the open chunk as full first
			store := newFakeStore()
			reg := prometheus.NewRegistry()
			ing, err := New(cfg, testLimits(), store, nil, reg)
			if err != nil {
				t.Fatal(err)
			}
			if err := ing.Recover(context.Background()); err != nil {
				t.Fatal(err)
			}
			p := &pusher{t: t, ing: ing, base: base}
			if tc.before > 0 {
				p.mustPush([]string{"a"}, tc.before)
			}
			huge := strings.Repeat("x", chunk.MaxEntrySize+1)
			err = ing.Push(context.Background(), "tenant", &logproto.PushRequest{Streams: []logproto.Stream{{
				Labels: `{app="test", s="a"}`, Entries: []logproto.Entry{{Timestamp: base + int64(time.Second), Line: huge}},
			}}})
			if !errors.Is(err, validation.ErrInvalid) || !strings.Contains(err.Error(), "entry too large") {
				t.Fatalf("push of a %d-byte line: %v, want an invalid-entry error", len(huge), err)
			}
			// The second flush forgets the chunks the first one wrote.
			for range 2 {
				if err := ing.Flush(context.Background()); err != nil {
					t.Fatal(err)
				}
			}
			exactlyOnce(t, "store", store.entries(t), p.acked)
			if n := countChunks(ing); n != 0 {
				t.Errorf("%d chunks held after everything was flushed", n)
			}
			if q := metricSum(t, reg, "skald_ingester_flush_queue_length"); q != 0 {
				t.Errorf("flush queue %v after everything was flushed", q)
			}
			if n := len(ing.instance("tenant", false).snapshot()); n != 0 {
				t.Errorf("%d streams held after everything was flushed", n)
			}
			stopNoFlush(t, ing)
		})
	}
}

// hangingStore is a store whose first write hangs until its context ends
// (reporting how it ended); later writes go to the fake store.
type hangingStore struct {
	*fakeStore
	calls atomic.Int32
	hung  chan struct{}
	ended chan error
}

func (s *hangingStore) PutChunks(ctx context.Context, tenant string, chunks []storage.Chunk) error {
	if s.calls.Add(1) == 1 {
		close(s.hung)
		<-ctx.Done()
		s.ended <- ctx.Err()
		return ctx.Err()
	}
	return s.fakeStore.PutChunks(ctx, tenant, chunks)
}

// Stop cancels the periodic flush's write in progress and writes the
// chunks itself: it waited for the write to time out (-ingester.flush-op-
// timeout, 10 minutes by default) whatever the context it was given.
func TestStopCancelsPeriodicFlush(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		store := &hangingStore{fakeStore: newFakeStore(), hung: make(chan struct{}), ended: make(chan error, 1)}
		cfg := testConfig("")
		cfg.FlushCheckPeriod = time.Minute
		cfg.ChunkIdlePeriod = time.Minute
		ing := startIngester(t, cfg, store)
		p := &pusher{t: t, ing: ing, base: base}
		p.mustPush([]string{"a", "b"}, 5)
		<-store.hung // the periodic flush writes the idle chunks
		if err := ing.Stop(context.Background()); err != nil {
			t.Fatal(err)
		}
		if err := <-store.ended; err != context.Canceled {
			t.Fatalf("the periodic flush's write ended with %v, want it cancelled by Stop", err)
		}
		exactlyOnce(t, "store after stop", store.entries(t), p.acked)
	})
}
