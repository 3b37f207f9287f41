package distributor

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/skald-logs/skald/pkg/index"
	"github.com/skald-logs/skald/pkg/logproto"
	"github.com/skald-logs/skald/pkg/ring"
	"github.com/skald-logs/skald/pkg/validation"
)

// fakeIngester records what it was sent and answers with err; when block is
// not nil it waits for it to close first.
type fakeIngester struct {
	mtx     sync.Mutex
	calls   int
	streams map[string]int // labels → entries received
	err     error
	block   chan struct{}
}

func (f *fakeIngester) Push(_ context.Context, _ string, req *logproto.PushRequest) error {
	if f.block != nil {
		<-f.block
	}
	f.mtx.Lock()
	defer f.mtx.Unlock()
	f.calls++
	if f.err != nil {
		return f.err
	}
	for _, s := range req.Streams {
		f.streams[s.Labels] += len(s.Entries)
	}
	return nil
}

// cluster is a ring of n ingesters over a MemoryKV, all ACTIVE and
// heartbeating now, and their fakes by address.
func cluster(t *testing.T, n int) (*ring.Ring, map[string]*fakeIngester) {
	t.Helper()
	now := time.Now()
	d := ring.NewDesc()
	fakes := map[string]*fakeIngester{}
	var taken []uint32
	for i := range n {
		addr := fmt.Sprintf("ingester-%d:9095", i)
		tokens := ring.GenerateTokens(64, taken)
		taken = append(taken, tokens...)
		slices.Sort(taken)
		d.AddInstance(ring.InstanceDesc{
			ID: fmt.Sprintf("ingester-%d", i), Addr: addr, State: ring.Active, Tokens: tokens,
			RegisteredTimestamp: now.Add(-time.Hour).UnixMilli(), Timestamp: now.UnixMilli(),
		})
		fakes[addr] = &fakeIngester{streams: map[string]int{}}
	}
	kv := ring.NewMemoryKV()
	kv.Merge(ring.IngesterRingKey, d)
	r, err := ring.NewRing(ring.Config{HeartbeatTimeout: time.Hour, ReplicationFactor: 3}, ring.IngesterRingKey, kv, slog.New(slog.DiscardHandler), nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.Stop)
	return r, fakes
}

func replicator(r *ring.Ring, fakes map[string]*fakeIngester) *Replicator {
	return NewReplicator(r, func(addr string) (Pusher, error) {
		f, ok := fakes[addr]
		if !ok {
			return nil, fmt.Errorf("no ingester %s", addr)
		}
		return f, nil
	}, slog.New(slog.DiscardHandler), nil)
}

func streams(n, entries int) *logproto.PushRequest {
	req := &logproto.PushRequest{}
	for i := range n {
		l := labels.FromStrings("app", fmt.Sprint("app-", i))
		s := logproto.Stream{Labels: logproto.LabelsString(l), Hash: index.Fingerprint(l)}
		for j := range entries {
			s.Entries = append(s.Entries, logproto.Entry{Timestamp: int64(j + 1), Line: "x"})
		}
		req.Streams = append(req.Streams, s)
	}
	return req
}

// replicas counts, per stream, how many ingesters hold all its entries.
func replicas(fakes map[string]*fakeIngester, req *logproto.PushRequest) map[string]int {
	out := map[string]int{}
	for _, f := range fakes {
		f.mtx.Lock()
		for _, s := range req.Streams {
			if f.streams[s.Labels] == len(s.Entries) {
				out[s.Labels]++
			}
		}
		f.mtx.Unlock()
	}
	return out
}

func TestReplicatorQuorum(t *testing.T) {
	unavailable := errors.New("connection refused")
	refused := invalidError("entry too far behind")
	for _, tc := range []struct {
		name      string
		failing   int   // ingesters answering failErr
		failErr   error // what they answer
		wantErr   error // nil: success
		wantCopy  int   // replicas each stream ends up on
		notClient bool  // the error must not look like the user's fault
	}{
		{name: "all up", wantCopy: 3},
		{name: "one down", failing: 1, failErr: unavailable, wantCopy: 2},
		{name: "two down", failing: 2, failErr: unavailable, wantErr: ErrQuorum, notClient: true},
		{name: "all refuse", failing: 5, failErr: refused, wantErr: validation.ErrInvalid},
		{name: "all limited", failing: 5, failErr: rateLimitedError("limit"), wantErr: validation.ErrRateLimited},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, fakes := cluster(t, 5)
			// Fail the ingesters holding the first stream's replicas, so the
			// failures hit a replication set.
			req := streams(50, 3)
			rs, err := r.Get(ring.TokenFor("t", req.Streams[0].Hash), ring.Write)
			if err != nil {
				t.Fatal(err)
			}
			n := 0
			for _, inst := range rs.Instances {
				if n < tc.failing {
					fakes[inst.Addr].err = tc.failErr
					n++
				}
			}
			for _, f := range fakes {
				if n < tc.failing {
					if f.err == nil {
						f.err = tc.failErr
						n++
					}
				}
			}
			rp := replicator(r, fakes)
			err = rp.Push(context.Background(), "t", req)
			rp.Stop()
			if tc.wantErr == nil {
				if err != nil {
					t.Fatal(err)
				}
				counts := replicas(fakes, req)
				for _, s := range req.Streams {
					if counts[s.Labels] < tc.wantCopy {
						t.Errorf("stream %s on %d ingesters, want at least %d", s.Labels, counts[s.Labels], tc.wantCopy)
					}
				}
				if got := counts[req.Streams[0].Labels]; got != tc.wantCopy {
					t.Errorf("first stream on %d ingesters, want %d", got, tc.wantCopy)
				}
				for addr, f := range fakes {
					if f.calls > 1 {
						t.Errorf("%s got %d calls for one push; streams must be grouped", addr, f.calls)
					}
				}
				return
			}
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("error %v, want %v", err, tc.wantErr)
			}
			if tc.notClient && (errors.Is(err, validation.ErrInvalid) || errors.Is(err, validation.ErrRateLimited)) {
				t.Fatalf("quorum failure %v looks like a client error", err)
			}
			if !strings.Contains(err.Error(), tc.failErr.Error()) {
				t.Errorf("error %q does not carry the ingester's %q", err, tc.failErr)
			}
		})
	}
}

// TestReplicatorReturnsOnQuorum: a slow replica does not hold the push
// back, and still receives the data afterwards.
func TestReplicatorReturnsOnQuorum(t *testing.T) {
	r, fakes := cluster(t, 3)
	var slow *fakeIngester
	for _, f := range fakes {
		slow = f
		break
	}
	slow.block = make(chan struct{})
	rp := replicator(r, fakes)
	req := streams(10, 2)
	if err := rp.Push(context.Background(), "t", req); err != nil {
		t.Fatal(err) // returned while the slow replica is still blocked
	}
	if slow.calls != 0 {
		t.Fatal("slow replica answered before it was released")
	}
	close(slow.block)
	rp.Stop()
	for s, n := range replicas(fakes, req) {
		if n != 3 {
			t.Errorf("stream %s on %d ingesters after the slow one finished, want 3", s, n)
		}
	}
}

func TestReplicatorEmptyRing(t *testing.T) {
	r, err := ring.NewRing(ring.Config{ReplicationFactor: 3}, ring.IngesterRingKey, ring.NewMemoryKV(), slog.New(slog.DiscardHandler), nil)
	if err != nil {
		t.Fatal(err)
	}
	rp := replicator(r, nil)
	if err := rp.Push(context.Background(), "t", streams(1, 1)); !errors.Is(err, ErrQuorum) || !errors.Is(err, ring.ErrEmptyRing) {
		t.Fatalf("push to an empty ring: %v", err)
	}
}
