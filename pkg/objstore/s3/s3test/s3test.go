// Package s3test runs a real S3-compatible server, versitygw, for tests of
// the packages that store objects in S3.
//
// The server binary is installed by tools/s3server/install.sh into
// <repo>/.cache/bin/versitygw; the environment variable SKALD_VERSITYGW may
// name another binary. Without a binary the tests that need one are skipped,
// unless SKALD_REQUIRE_S3=1 (as `make test` sets), which makes them fail.
package s3test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/skald-logs/skald/pkg/objstore/s3"
)

// Credentials of the server's root user.
const (
	AccessKeyID     = "skald-test-access-key"
	SecretAccessKey = "skald-test-secret-key"
)

// startTimeout bounds how long the server may take to answer after it is
// started; it usually takes well under a second.
const startTimeout = 30 * time.Second

// Server is a running versitygw process with a posix backend in a temporary
// directory. Its methods must be called from the test's goroutine.
type Server struct {
	t         testing.TB
	bin       string
	addr      string // 127.0.0.1:port, kept across restarts
	dataDir   string
	metaDir   string
	bucket    string
	nbuckets  atomic.Int64
	cmd       *exec.Cmd
	exited    chan struct{} // closed when cmd has exited
	output    *syncBuffer
	keepAlive *http.Transport
}

// Start starts a server with one bucket, registers its stop with t.Cleanup
// and returns the config of the bucket.
func Start(t testing.TB) s3.Config {
	t.Helper()
	return StartServer(t).Config()
}

// StartServer starts a server with one bucket and registers its stop with
// t.Cleanup. It skips (or, with SKALD_REQUIRE_S3=1, fails) the test when the
// versitygw binary is not installed.
func StartServer(t testing.TB) *Server {
	t.Helper()
	bin := binary(t)
	root := t.TempDir()
	s := &Server{
		t:         t,
		bin:       bin,
		dataDir:   filepath.Join(root, "data"),
		metaDir:   filepath.Join(root, "meta"),
		bucket:    "skald-test",
		output:    &syncBuffer{},
		keepAlive: &http.Transport{},
	}
	for _, d := range []string{s.dataDir, s.metaDir} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() {
		s.stop()
		s.keepAlive.CloseIdleConnections()
		if t.Failed() {
			t.Logf("versitygw output:\n%s", s.output.tail(4096))
		}
	})
	// A free port can be taken by someone else between finding it and the
	// server binding it; try a few.
	var err error
	for range 3 {
		s.addr, err = freeAddr()
		if err != nil {
			t.Fatal(err)
		}
		if err = s.start(); err == nil {
			break
		}
	}
	if err != nil {
		t.Fatalf("starting versitygw: %v", err)
	}
	s.createBucket(t, s.bucket)
	return s
}

// Config returns the config of the server's first bucket, with short
// retries: 3 attempts, at most 100ms apart, 5s per attempt.
func (s *Server) Config() s3.Config {
	return s.config(s.bucket)
}

// NewBucket creates a new, empty bucket and returns its config.
func (s *Server) NewBucket(t testing.TB) s3.Config {
	t.Helper()
	name := fmt.Sprintf("skald-test-%d", s.nbuckets.Add(1))
	s.createBucket(t, name)
	return s.config(name)
}

// Addr returns the server's host:port.
func (s *Server) Addr() string { return s.addr }

// DataDir returns the directory of the posix backend: the object "k" of the
// bucket "b" is the file DataDir()/b/k.
func (s *Server) DataDir() string { return s.dataDir }

// Stop kills the server, to simulate an outage. Objects are kept.
func (s *Server) Stop() {
	s.t.Helper()
	s.stop()
}

// Start starts a stopped server again on the same address, with the same
// objects.
func (s *Server) Start() {
	s.t.Helper()
	if s.cmd != nil {
		s.t.Fatal("s3test: Start of a running server")
	}
	if err := s.start(); err != nil {
		s.t.Fatalf("restarting versitygw: %v", err)
	}
}

func (s *Server) config(bucket string) s3.Config {
	return s3.Config{
		Endpoint:        s.addr,
		Bucket:          bucket,
		Region:          "us-east-1",
		AccessKeyID:     AccessKeyID,
		SecretAccessKey: SecretAccessKey,
		ForcePathStyle:  true,
		Insecure:        true,
		MaxAttempts:     3,
		MaxBackoff:      100 * time.Millisecond,
		RequestTimeout:  5 * time.Second,
	}
}

func (s *Server) createBucket(t testing.TB, name string) {
	t.Helper()
	b, err := s3.New(s.config(name), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	if err := b.CreateBucket(ctx); err != nil {
		t.Fatalf("creating bucket %q: %v", name, err)
	}
}

// start runs versitygw and waits until it answers.
func (s *Server) start() error {
	cmd := exec.Command(s.bin,
		"--access", AccessKeyID,
		"--secret", SecretAccessKey,
		"--region", "us-east-1",
		"--port", s.addr,
		"--quiet",
		"posix", "--sidecar", s.metaDir, s.dataDir)
	cmd.Env = environ()
	cmd.Stdout = s.output
	cmd.Stderr = s.output
	cmd.SysProcAttr = sysProcAttr()
	if err := cmd.Start(); err != nil {
		return err
	}
	exited := make(chan struct{})
	go func() {
		cmd.Wait()
		close(exited)
	}()
	s.cmd, s.exited = cmd, exited
	if err := s.waitReady(); err != nil {
		s.stop()
		return fmt.Errorf("%w; output:\n%s", err, s.output.tail(2048))
	}
	return nil
}

// waitReady polls GET / until it answers 403 (the server refuses an
// unsigned request), the process exits, or startTimeout passes.
func (s *Server) waitReady() error {
	deadline := time.Now().Add(startTimeout)
	for {
		err := s.ping()
		if err == nil {
			return nil
		}
		select {
		case <-s.exited:
			return errors.New("versitygw exited")
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("versitygw not ready after %v: %w", startTimeout, err)
		}
	}
}

// ping sends one unsigned GET / and expects the 403 of a running server.
func (s *Server) ping() error {
	client := &http.Client{Transport: s.keepAlive, Timeout: time.Second}
	resp, err := client.Get("http://" + s.addr + "/")
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		return fmt.Errorf("GET / answered %s", resp.Status)
	}
	return nil
}

// stop kills the process, if running, and waits for it.
func (s *Server) stop() {
	if s.cmd == nil {
		return
	}
	s.cmd.Process.Kill()
	<-s.exited
	s.cmd, s.exited = nil, nil
	s.keepAlive.CloseIdleConnections()
}

// binary returns the path of versitygw, or skips or fails the test.
func binary(t testing.TB) string {
	t.Helper()
	if p := os.Getenv("SKALD_VERSITYGW"); p != "" {
		if _, err := os.Stat(p); err != nil {
			t.Fatalf("SKALD_VERSITYGW: %v", err)
		}
		return p
	}
	msg := "versitygw is not installed; run tools/s3server/install.sh"
	root, err := repoRoot()
	if err == nil {
		p := filepath.Join(root, ".cache", "bin", "versitygw")
		if _, err = os.Stat(p); err == nil {
			return p
		}
	}
	if os.Getenv("SKALD_REQUIRE_S3") == "1" {
		t.Fatalf("%s (SKALD_REQUIRE_S3=1): %v", msg, err)
	}
	t.Skipf("%s (or set SKALD_VERSITYGW): %v", msg, err)
	return ""
}

// repoRoot finds the directory of go.mod above the working directory.
func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod above the working directory")
		}
		dir = parent
	}
}

// freeAddr returns a 127.0.0.1 address with a port that was free a moment
// ago.
func freeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	addr := l.Addr().String()
	return addr, l.Close()
}

// environ is the environment of the server: the test's, without the
// variables versitygw reads its settings from.
func environ() []string {
	var env []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "VGW_") || strings.HasPrefix(kv, "ROOT_") {
			continue
		}
		env = append(env, kv)
	}
	return env
}

// syncBuffer collects the server's output.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) tail(n int) string {
	b.mu.Lock()
	defer b.mu.Unlock()
	out := b.buf.Bytes()
	if len(out) > n {
		out = out[len(out)-n:]
	}
	return string(out)
}
