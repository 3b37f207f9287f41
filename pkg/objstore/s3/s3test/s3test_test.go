package s3test

import (
	"fmt"
	"runtime"
	"strings"
	"testing"
)

// recordTB records a Skip or Fatal instead of ending the real test.
type recordTB struct {
	testing.TB
	skipped, failed bool
	msg             string
}

func (r *recordTB) Helper() {}

func (r *recordTB) Skipf(format string, args ...any) {
	r.skipped, r.msg = true, fmt.Sprintf(format, args...)
	runtime.Goexit()
}

func (r *recordTB) Fatalf(format string, args ...any) {
	r.failed, r.msg = true, fmt.Sprintf(format, args...)
	runtime.Goexit()
}

func TestMissingBinary(t *testing.T) {
	tests := []struct {
		name               string
		versitygw, require string
		wantSkip, wantFail bool
	}{
		{"not installed", "", "", true, false},
		{"not installed, required", "", "1", false, true},
		{"env names a missing file", "/nonexistent/versitygw", "", false, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Chdir(t.TempDir()) // no go.mod above: no .cache/bin
			t.Setenv("SKALD_VERSITYGW", tc.versitygw)
			t.Setenv("SKALD_REQUIRE_S3", tc.require)
			r := &recordTB{TB: t}
			done := make(chan string)
			go func() {
				defer close(done)
				done <- binary(r)
			}()
			path := <-done
			if r.skipped != tc.wantSkip || r.failed != tc.wantFail {
				t.Fatalf("binary() = %q: skipped %v, failed %v (%q); want skipped %v, failed %v",
					path, r.skipped, r.failed, r.msg, tc.wantSkip, tc.wantFail)
			}
			if tc.versitygw == "" && !strings.Contains(r.msg, "tools/s3server/install.sh") {
				t.Errorf("message %q does not name tools/s3server/install.sh", r.msg)
			}
		})
	}
}

func TestStopStart(t *testing.T) {
	s := StartServer(t)
	if err := s.ping(); err != nil {
		t.Fatalf("server not answering after StartServer: %v", err)
	}
	s.Stop()
	if err := s.ping(); err == nil {
		t.Fatal("server still answering after Stop")
	}
	s.Start()
	if err := s.ping(); err != nil {
		t.Fatalf("server not answering after Start: %v", err)
	}
}
