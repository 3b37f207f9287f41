package s3_test

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/skald-logs/skald/pkg/objstore"
	"github.com/skald-logs/skald/pkg/objstore/s3"
	"github.com/skald-logs/skald/pkg/objstore/s3/s3test"
)

func TestWrongCredentials(t *testing.T) {
	srv := s3test.StartServer(t)
	ctx := context.Background()
	good := newBucket(t, srv.Config(), nil)
	defer good.Close()
	if err := good.Put(ctx, "k", strings.NewReader("v"), 1); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		id, key  string
		wantCode string
	}{
		{"wrong secret", s3test.AccessKeyID, "not-the-secret", "SignatureDoesNotMatch"},
		// S3 answers InvalidAccessKeyId, versitygw XAdminUserNotFound.
		{"unknown access key", "nobody", s3test.SecretAccessKey, "XAdminUserNotFound"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := srv.Config()
			cfg.AccessKeyID, cfg.SecretAccessKey = tc.id, tc.key
			b := newBucket(t, cfg, nil)
			defer b.Close()
			errs := map[string]error{
				"Check":  b.Check(ctx),
				"Put":    b.Put(ctx, "k2", strings.NewReader("v"), 1),
				"List":   b.List(ctx, "", func(string) error { return nil }),
				"Delete": b.Delete(ctx, "k"),
			}
			_, errs["Get"] = b.Get(ctx, "k")
			_, errs["GetRange"] = b.GetRange(ctx, "k", 0, 1)
			for op, err := range errs {
				if !errors.Is(err, s3.ErrAccessDenied) {
					t.Errorf("%s error = %v, want ErrAccessDenied", op, err)
					continue
				}
				if errors.Is(err, objstore.ErrNotFound) {
					t.Errorf("%s error = %v is also ErrNotFound", op, err)
				}
				// The server's error code stays in the message.
				if !strings.Contains(err.Error(), tc.wantCode) {
					t.Errorf("%s error = %q, want it to name %s", op, err, tc.wantCode)
				}
			}
			// A HEAD answer carries no error code, only its status. For
			// an unknown access key versitygw answers 404 instead of
			// S3's 403, which reads as a missing object.
			_, err := b.Attributes(ctx, "k")
			if tc.wantCode == "XAdminUserNotFound" {
				if err == nil {
					t.Error("Attributes succeeded")
				}
			} else if !errors.Is(err, s3.ErrAccessDenied) {
				t.Errorf("Attributes error = %v, want ErrAccessDenied", err)
			}
		})
	}
	if got, err := objstore.GetAll(ctx, good, "k"); err != nil || string(got) != "v" {
		t.Errorf("object after refused requests = %q, %v", got, err)
	}
}

func TestMissingBucket(t *testing.T) {
	srv := s3test.StartServer(t)
	ctx := context.Background()
	cfg := srv.Config()
	cfg.Bucket = "no-such-bucket"
	b := newBucket(t, cfg, nil)
	defer b.Close()

	if err := b.Check(ctx); !errors.Is(err, s3.ErrBucketNotFound) {
		t.Errorf("Check error = %v, want ErrBucketNotFound", err)
	}
	errs := map[string]error{
		"Put":    b.Put(ctx, "k", strings.NewReader("v"), 1),
		"List":   b.List(ctx, "", func(string) error { return nil }),
		"Delete": b.Delete(ctx, "k"),
	}
	_, errs["Get"] = b.Get(ctx, "k")
	_, errs["GetRange"] = b.GetRange(ctx, "k", 0, 1)
	for op, err := range errs {
		if !errors.Is(err, s3.ErrBucketNotFound) {
			t.Errorf("%s error = %v, want ErrBucketNotFound", op, err)
		}
		if errors.Is(err, objstore.ErrNotFound) {
			t.Errorf("%s error = %v: a missing bucket must not look like a missing object", op, err)
		}
		if err != nil && !strings.Contains(err.Error(), `"no-such-bucket"`) {
			t.Errorf("%s error = %q, want it to name the bucket", op, err)
		}
	}
}

func TestCreateBucket(t *testing.T) {
	srv := s3test.StartServer(t)
	ctx := context.Background()
	cfg := srv.Config()
	cfg.Bucket = "auto-created"
	b := newBucket(t, cfg, nil)
	defer b.Close()

	if err := b.Check(ctx); !errors.Is(err, s3.ErrBucketNotFound) {
		t.Fatalf("Check before CreateBucket = %v, want ErrBucketNotFound", err)
	}
	if err := b.CreateBucket(ctx); err != nil {
		t.Fatalf("CreateBucket: %v", err)
	}
	if err := b.Check(ctx); err != nil {
		t.Fatalf("Check after CreateBucket: %v", err)
	}
	if err := b.Put(ctx, "chunks/fake/1", strings.NewReader("chunk"), 5); err != nil {
		t.Fatal(err)
	}
	// Creating it again (every process of a cluster does at start) is fine
	// and keeps the objects.
	if err := b.CreateBucket(ctx); err != nil {
		t.Errorf("CreateBucket of an existing bucket: %v", err)
	}
	if got, err := objstore.GetAll(ctx, b, "chunks/fake/1"); err != nil || string(got) != "chunk" {
		t.Errorf("object after second CreateBucket = %q, %v", got, err)
	}

	cfg.SecretAccessKey = "wrong"
	bad := newBucket(t, cfg, nil)
	defer bad.Close()
	if err := bad.CreateBucket(ctx); !errors.Is(err, s3.ErrAccessDenied) {
		t.Errorf("CreateBucket with a wrong secret = %v, want ErrAccessDenied", err)
	}
}

// TestServerDown stops the server: calls fail after MaxAttempts attempts, on
// their own (not by the test's deadline), and work again once the server is
// back.
func TestServerDown(t *testing.T) {
	srv := s3test.StartServer(t)
	cfg := srv.Config()
	cfg.MaxAttempts = 3
	cfg.MaxBackoff = 50 * time.Millisecond
	cfg.RequestTimeout = 2 * time.Second
	reg := prometheus.NewRegistry()
	b := newBucket(t, cfg, reg)
	defer b.Close()
	// A generous safety net; the calls below give up long before it.
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	data := bytes.Repeat([]byte("x"), 1000)
	if err := b.Put(ctx, "chunks/fake/1", bytes.NewReader(data), int64(len(data))); err != nil {
		t.Fatal(err)
	}

	srv.Stop()
	_, err := b.Get(ctx, "chunks/fake/1")
	if err == nil || errors.Is(err, objstore.ErrNotFound) || errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Get with the server down: error = %v, want a connection error", err)
	}
	if got := requests(t, reg, "GetObject", "error"); got != 3 {
		t.Errorf("GetObject attempts that failed = %v, want MaxAttempts = 3", got)
	}
	err = b.Put(ctx, "chunks/fake/2", bytes.NewReader(data), int64(len(data)))
	if err == nil || errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Put with the server down: error = %v, want a connection error", err)
	}
	if got := requests(t, reg, "PutObject", "error"); got != 3 {
		t.Errorf("PutObject attempts that failed = %v, want 3", got)
	}

	srv.Start()
	if got, err := objstore.GetAll(ctx, b, "chunks/fake/1"); err != nil || !bytes.Equal(got, data) {
		t.Fatalf("GetAll after restart = %d bytes, %v", len(got), err)
	}
	if err := b.Put(ctx, "chunks/fake/2", bytes.NewReader(data), int64(len(data))); err != nil {
		t.Fatalf("Put after restart: %v", err)
	}
}

// requests returns the value of skald_s3_requests_total for an operation and
// status.
func requests(t *testing.T, reg *prometheus.Registry, op, status string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != "skald_s3_requests_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			if labels["operation"] == op && labels["status"] == status {
				return m.GetCounter().GetValue()
			}
		}
	}
	return 0
}
