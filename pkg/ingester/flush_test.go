package ingester

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/skald-logs/skald/pkg/validation"
)

func TestFlushRetries(t *testing.T) {
	for _, tc := range []struct {
		name        string
		failures    int // consecutive store failures
		retries     int
		wantErr     bool
		wantRetries float64
	}{
		{"no failure", 0, 3, false, 0},
		{"recovers within the retries", 2, 3, false, 2},
		{"recovers on the last retry", 3, 3, false, 3},
		{"gives up", 5, 3, true, 3},
		{"no retries configured", 1, 0, true, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := testConfig(t.TempDir())
			cfg.FlushOpBackoff.MaxRetries = tc.retries
			store := newFakeStore()
			reg := prometheus.NewRegistry()
			ing, err := New(cfg, testLimits(), store, nil, reg)
			if err != nil {
				t.Fatal(err)
			}
			ing.Start()
			p := &pusher{t: t, ing: ing, base: base}
			p.mustPush([]string{"a", "b"}, 30)
			store.setFailures(tc.failures)
			err = ing.Flush(context.Background())
			if (err != nil) != tc.wantErr {
				t.Fatalf("Flush = %v, want error: %v", err, tc.wantErr)
			}
			if tc.wantErr && !errors.Is(err, errStoreDown) {
				t.Fatalf("Flush error %v does not wrap the store's", err)
			}
			if got := metricSum(t, reg, "skald_ingester_flush_retries_total"); got != tc.wantRetries {
				t.Fatalf("retries metric %v, want %v", got, tc.wantRetries)
			}
			wantFailures := float64(min(tc.failures, tc.retries+1))
			if got := metricSum(t, reg, "skald_ingester_flush_failures_total"); got != wantFailures {
				t.Fatalf("failures metric %v, want %v", got, wantFailures)
			}
			queue := metricSum(t, reg, "skald_ingester_flush_queue_length")
			if tc.wantErr {
				if want := float64(countChunks(ing)); queue != want || want == 0 || len(store.chunks) != 0 {
					t.Fatalf("after a failed flush: queue %v, %d objects; want the %v chunks queued, none stored", queue, len(store.chunks), want)
				}
				// The next flush writes them.
				store.setFailures(0)
				if err := ing.Flush(context.Background()); err != nil {
					t.Fatal(err)
				}
			}
			if queue := metricSum(t, reg, "skald_ingester_flush_queue_length"); queue != 0 {
				t.Fatalf("queue %v after a successful flush", queue)
			}
			exactlyOnce(t, "store", store.entries(t), p.acked)
			if got := metricSum(t, reg, "skald_ingester_unflushed_bytes"); got != 0 {
				t.Fatalf("unflushed bytes %v after everything was flushed", got)
			}
			stopNoFlush(t, ing)
		})
	}
}

// While the store is down the ingester takes pushes until the unflushed
// data reaches the limit, then refuses them with a 429 that says why; once
// the store is back and the chunks are flushed it takes pushes again.
func TestMemoryLimitWhileStoreIsDown(t *testing.T) {
	cfg := testConfig(t.TempDir())
	cfg.MaxUnflushedBytes = 32 << 10
	cfg.FlushOpBackoff.MaxRetries = 0
	store := newFakeStore()
	reg := prometheus.NewRegistry()
	ing, err := New(cfg, testLimits(), store, nil, reg)
	if err != nil {
		t.Fatal(err)
	}
	ing.Start()
	store.setFailures(-1)
	p := &pusher{t: t, ing: ing, base: base}
	var refused error
	for range 1000 {
		if refused = p.push([]string{"a", "b"}, 20); refused != nil {
			break
		}
		ing.sweep(context.Background(), sweepOptions{all: true, reason: reasonForced}) // fails: the store is down
	}
	if refused == nil {
		t.Fatal("never refused a push")
	}
	if !errors.Is(refused, validation.ErrRateLimited) {
		t.Fatalf("refusal %v is not a 429", refused)
	}
	for _, want := range []string{"ingester memory limit reached", "store is failing: store is down", "retry later"} {
		if !strings.Contains(refused.Error(), want) {
			t.Fatalf("refusal %q does not say %q", refused, want)
		}
	}
	if held := ing.unflushed.Load(); held < int64(cfg.MaxUnflushedBytes) {
		t.Fatalf("refused at %d bytes, below the limit %d", held, cfg.MaxUnflushedBytes)
	}
	if got := metricSum(t, reg, "skald_ingester_pushes_refused_total"); got != 1 {
		t.Fatalf("refused metric %v, want 1", got)
	}

	store.setFailures(0)
	if err := ing.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	p.mustPush([]string{"a"}, 5)
	if err := ing.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	exactlyOnce(t, "store", store.entries(t), p.acked)
	stopNoFlush(t, ing)
}

// An ingester used before Start replays its WAL on the first push.
func TestPushBeforeStartRecovers(t *testing.T) {
	dir := t.TempDir()
	cfg := testConfig(dir)
	ing := startIngester(t, cfg, newFakeStore())
	p := &pusher{t: t, ing: ing, base: base}
	p.mustPush([]string{"a"}, 10)
	crashed := crashCopy(t, dir)
	stopNoFlush(t, ing)

	cfg.WAL.Dir = crashed
	ing2, err := New(cfg, testLimits(), newFakeStore(), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	p.ing = ing2
	p.mustPush([]string{"a"}, 10)
	exactlyOnce(t, "memory", memEntries(t, ing2), p.acked)
	stopNoFlush(t, ing2)
}

// countChunks counts the chunks in memory.
func countChunks(ing *Ingester) int {
	n := 0
	for _, inst := range ing.allInstances() {
		for _, st := range inst.snapshot() {
			st.mtx.Lock()
			n += len(st.chunks)
			st.mtx.Unlock()
		}
	}
	return n
}
