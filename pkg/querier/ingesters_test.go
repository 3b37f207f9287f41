package querier

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/skald-logs/skald/pkg/iter"
	"github.com/skald-logs/skald/pkg/logproto"
	"github.com/skald-logs/skald/pkg/logql"
	"github.com/skald-logs/skald/pkg/ring"
)

// readRing is a ring of n ACTIVE ingesters named ing-0..ing-n-1, RF 3.
func readRing(t *testing.T, n int) *ring.Ring {
	t.Helper()
	now := time.Now()
	d := ring.NewDesc()
	var taken []uint32
	for i := range n {
		tokens := ring.GenerateTokens(16, taken)
		taken = append(taken, tokens...)
		slices.Sort(taken)
		d.AddInstance(ring.InstanceDesc{ID: fmt.Sprint("ing-", i), Addr: fmt.Sprint("ing-", i), State: ring.Active, Tokens: tokens,
			RegisteredTimestamp: now.UnixMilli(), Timestamp: now.UnixMilli()})
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
	return r
}

// brokenSource fails at open (openErr) or after its entries (streamErr).
type brokenSource struct {
	source
	openErr, streamErr error
}

func (b *brokenSource) SelectLogs(ctx context.Context, tenant string, p logql.SelectLogParams) (iter.EntryIterator, error) {
	if b.openErr != nil {
		return nil, b.openErr
	}
	it, err := b.source.SelectLogs(ctx, tenant, p)
	return &errAfter{EntryIterator: it, err: b.streamErr}, err
}

func (b *brokenSource) LabelNames(ctx context.Context, tenant string, from, through int64, ms []*labels.Matcher) ([]string, error) {
	if b.openErr != nil {
		return nil, b.openErr
	}
	return b.source.LabelNames(ctx, tenant, from, through, ms)
}

type errAfter struct {
	iter.EntryIterator
	err error
}

func (e *errAfter) Err() error { return e.err }

func TestIngestersMergeReplicasAndAbsorbFailures(t *testing.T) {
	lbls := labels.FromStrings("app", "a")
	down := errors.New("connection refused")
	for _, tc := range []struct {
		name    string
		broken  map[string]*brokenSource
		wantErr bool
	}{
		{name: "all up"},
		{name: "one fails to open", broken: map[string]*brokenSource{"ing-0": {openErr: down}}},
		{name: "one fails midway", broken: map[string]*brokenSource{"ing-1": {source: source{lbls: lbls, ts: []int64{1, 2}}, streamErr: down}}},
		{name: "two fail", broken: map[string]*brokenSource{"ing-0": {openErr: down}, "ing-2": {openErr: down}}, wantErr: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := NewIngesters(readRing(t, 3), func(addr string) (Source, error) {
				if b, ok := tc.broken[addr]; ok {
					return b, nil
				}
				// Every replica holds the same entries.
				return &source{lbls: lbls, ts: []int64{1, 2, 3, 4}, names: []string{"app", addr}}, nil
			}, slog.New(slog.DiscardHandler))
			for _, dir := range []logproto.Direction{logproto.Forward, logproto.Backward} {
				it, err := in.SelectLogs(context.Background(), "t", logql.SelectLogParams{Start: 0, End: 10, Direction: dir})
				if err != nil {
					if tc.wantErr {
						return
					}
					t.Fatal(err)
				}
				var got []int64
				for it.Next() {
					got = append(got, it.At().Timestamp)
				}
				if tc.wantErr {
					t.Fatalf("no error; got %v", got)
				}
				if err := it.Err(); err != nil {
					t.Fatal(err)
				}
				want := []int64{1, 2, 3, 4}
				if dir == logproto.Backward {
					want = []int64{4, 3, 2, 1}
				}
				if !slices.Equal(got, want) {
					t.Fatalf("%s: got %v, want each entry once: %v", dir, got, want)
				}
			}
			names, err := in.LabelNames(context.Background(), "t", 0, 10, nil)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Contains(names, "app") || len(names) < 3 {
				t.Errorf("label names %v: want the union of the replicas'", names)
			}
		})
	}
}

func TestIngestersMidwayFailuresBeyondBudget(t *testing.T) {
	lbls := labels.FromStrings("app", "a")
	boom := errors.New("stream reset")
	in := NewIngesters(readRing(t, 3), func(addr string) (Source, error) {
		return &brokenSource{source: source{lbls: lbls, ts: []int64{1}}, streamErr: boom}, nil
	}, slog.New(slog.DiscardHandler))
	it, err := in.SelectLogs(context.Background(), "t", logql.SelectLogParams{Start: 0, End: 10, Direction: logproto.Forward})
	if err != nil {
		t.Fatal(err)
	}
	for it.Next() {
	}
	if !errors.Is(it.Err(), boom) {
		t.Fatalf("three broken streams of three ingesters: err %v", it.Err())
	}
}

func TestIngestersEmptyRing(t *testing.T) {
	r, err := ring.NewRing(ring.Config{ReplicationFactor: 3}, ring.IngesterRingKey, ring.NewMemoryKV(), slog.New(slog.DiscardHandler), nil)
	if err != nil {
		t.Fatal(err)
	}
	in := NewIngesters(r, nil, slog.New(slog.DiscardHandler))
	it, err := in.SelectLogs(context.Background(), "t", logql.SelectLogParams{End: 10})
	if err != nil || it.Next() {
		t.Fatalf("empty ring: %v", err)
	}
}
