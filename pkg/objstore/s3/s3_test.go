package s3_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/goleak"

	"github.com/skald-logs/skald/pkg/objstore"
	"github.com/skald-logs/skald/pkg/objstore/objstoretest"
	"github.com/skald-logs/skald/pkg/objstore/s3"
	"github.com/skald-logs/skald/pkg/objstore/s3/s3test"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

func newBucket(t testing.TB, cfg s3.Config, reg prometheus.Registerer) *s3.Bucket {
	t.Helper()
	b, err := s3.New(cfg, nil, reg)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestBucket(t *testing.T) {
	srv := s3test.StartServer(t)
	objstoretest.TestBucket(t, func(t *testing.T) objstore.Bucket {
		return newBucket(t, srv.NewBucket(t), prometheus.NewRegistry())
	})
}

func TestMetrics(t *testing.T) {
	srv := s3test.StartServer(t)
	ctx := context.Background()
	reg := prometheus.NewRegistry()
	b := newBucket(t, srv.Config(), reg)
	defer b.Close()
	// A second bucket in the same process shares the metrics.
	b2 := newBucket(t, srv.Config(), reg)
	defer b2.Close()

	if err := b.Put(ctx, "k", strings.NewReader("v"), 1); err != nil {
		t.Fatal(err)
	}
	if _, err := objstore.GetAll(ctx, b2, "k"); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Get(ctx, "missing"); !errors.Is(err, objstore.ErrNotFound) {
		t.Fatalf("Get(missing) = %v", err)
	}
	if _, err := b.Attributes(ctx, "missing"); !errors.Is(err, objstore.ErrNotFound) {
		t.Fatalf("Attributes(missing) = %v", err)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := b.Get(cctx, "k"); !errors.Is(err, context.Canceled) {
		t.Fatalf("Get with a cancelled context = %v", err)
	}
	tests := []struct {
		op, status string
		want       float64
	}{
		{"PutObject", "200", 1},
		{"GetObject", "200", 1},
		{"GetObject", "404", 1},
		{"HeadObject", "404", 1},
		{"GetObject", "error", 0}, // a cancelled call sends nothing
	}
	for _, tc := range tests {
		if got := requests(t, reg, tc.op, tc.status); got != tc.want {
			t.Errorf("skald_s3_requests_total{operation=%q,status=%q} = %v, want %v", tc.op, tc.status, got, tc.want)
		}
	}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var observed uint64
	for _, mf := range mfs {
		if mf.GetName() == "skald_s3_request_duration_seconds" {
			for _, m := range mf.GetMetric() {
				observed += m.GetHistogram().GetSampleCount()
			}
		}
	}
	if observed != 4 {
		t.Errorf("skald_s3_request_duration_seconds observed %d requests, want 4", observed)
	}
}
