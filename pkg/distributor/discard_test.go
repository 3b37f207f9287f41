package distributor

import (
	"context"
	"errors"
	"flag"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/skald-logs/skald/pkg/logproto"
	"github.com/skald-logs/skald/pkg/validation"
)

// Each refused entry is counted once, under the first reason that refused
// it: a push refused by the rate limit counts its valid entries as
// rate_limited, not again those already refused as invalid.
func TestDiscardedCountsEachEntryOnce(t *testing.T) {
	var l validation.Limits
	l.RegisterFlags(flag.NewFlagSet("", flag.PanicOnError))
	l.IngestionRateMB, l.IngestionBurstSizeMB = 1.0/(1<<20), 1.0/(1<<20) // one byte
	l.MaxLineSize = 4
	d := New(validation.NewOverrides(l, nil), &recorder{}, nil, prometheus.NewRegistry())
	d.now = func() time.Time { return testNow }
	err := d.Push(context.Background(), "fake", &logproto.PushRequest{Streams: []logproto.Stream{{
		Labels: `{job="e"}`,
		Entries: []logproto.Entry{
			entry(testNow, "too long"), // line_too_long
			entry(testNow, "ok"),       // valid, over the rate: rate_limited
			entry(testNow, "ok2"),      // valid, over the rate: rate_limited
		},
	}}})
	if !errors.Is(err, validation.ErrRateLimited) {
		t.Fatalf("push: %v, want rate limited", err)
	}
	for reason, want := range map[string]float64{"line_too_long": 1, "rate_limited": 2} {
		if got := testutil.ToFloat64(d.discarded.WithLabelValues(reason, "fake")); got != want {
			t.Errorf("discarded %s: %v, want %v", reason, got, want)
		}
	}
}
