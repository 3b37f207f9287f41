package main

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/golang/snappy"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/skald-logs/skald/pkg/logproto/pb"
	"github.com/skald-logs/skald/pkg/objstore/s3/s3test"
)

// pushStatus sends lines as one push and returns the status and body.
func pushStatus(t *testing.T, addr string, lines []line) (int, string) {
	t.Helper()
	req := &pb.PushRequest{}
	byStream := map[string]*pb.StreamAdapter{}
	for _, l := range lines {
		s := byStream[l.stream]
		if s == nil {
			s = &pb.StreamAdapter{Labels: fmt.Sprintf(`{job=%q}`, l.stream)}
			byStream[l.stream] = s
			req.Streams = append(req.Streams, s)
		}
		s.Entries = append(s.Entries, &pb.EntryAdapter{Timestamp: timestamppb.New(time.Unix(0, l.ts)), Line: l.text})
	}
	raw, err := proto.Marshal(req)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := pushClient.Post(addr+"/loki/api/v1/push", "application/x-protobuf", bytes.NewReader(snappy.Encode(nil, raw)))
	if err != nil {
		t.Fatalf("push: %v", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

// metric returns the value of an unlabelled metric from /metrics.
func metric(t *testing.T, p *proc, name string) float64 {
	t.Helper()
	code, body := p.get("/metrics", nil)
	if code != http.StatusOK {
		t.Fatalf("/metrics: %d", code)
	}
	sc := bufio.NewScanner(bytes.NewReader(body))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) == 2 && f[0] == name {
			v, err := strconv.ParseFloat(f[1], 64)
			if err != nil {
				t.Fatal(err)
			}
			return v
		}
	}
	t.Fatalf("metric %s not found", name)
	return 0
}

// The S3 server goes down while skald ingests and flushes. Skald keeps
// taking pushes until its memory limit, then answers 429 with a message that
// says why; when S3 is back everything lands there exactly once.
func TestStoreOutage(t *testing.T) {
	srv := s3test.StartServer(t)
	s3cfg := srv.Config()
	const limit = 256 << 10
	args := []string{
		"-storage.backend=s3",
		"-s3.endpoint=" + s3cfg.Endpoint,
		"-s3.bucket=" + s3cfg.Bucket,
		"-s3.region=" + s3cfg.Region,
		"-s3.access-key-id=" + s3cfg.AccessKeyID,
		"-s3.secret-access-key=" + s3cfg.SecretAccessKey,
		"-s3.force-path-style=true",
		"-s3.insecure=true",
		"-s3.max-attempts=2",
		"-s3.max-backoff=50ms",
		"-s3.request-timeout=2s",
		"-ingester.flush-check-period=200ms",
		"-ingester.chunk-target-size=16384",
		"-ingester.chunks-block-size=4096",
		"-ingester.chunks-retain-period=0s",
		"-ingester.flush-op-backoff-min-period=50ms",
		"-ingester.flush-op-backoff-max-period=400ms",
		"-ingester.flush-op-backoff-retries=3",
		"-ingester.max-unflushed-bytes=" + strconv.Itoa(limit),
		"-log.level=warn",
	}
	dir := t.TempDir()
	p := start(t, dir, args...)
	base := time.Now().Add(-20 * time.Minute).UnixNano()
	from, to := base, time.Now().Add(time.Hour).UnixNano()
	lg := newLedger(base)
	rng := rand.New(rand.NewPCG(1, 2))
	// Lines of random hex compress poorly, so the limit is reached soon.
	batch := func(n int) []line {
		var out []line
		for k := range n {
			hex := fmt.Sprintf("%016x%016x%016x", rng.Uint64(), rng.Uint64(), rng.Uint64())
			out = append(out, line{stream: fmt.Sprintf("outage-%d", k%3), ts: lg.ts.Add(1000), text: "payload=" + hex})
		}
		return out
	}
	push := func(lines []line) (int, string) {
		code, body := pushStatus(t, p.addr, lines)
		lg.mu.Lock()
		for _, l := range lines {
			lg.sent[l] = true
			if code == http.StatusNoContent {
				lg.acked[l] = true
			}
		}
		lg.mu.Unlock()
		return code, body
	}

	// Before the outage.
	for range 20 {
		if code, body := push(batch(20)); code != http.StatusNoContent {
			t.Fatalf("push before the outage: %d %s", code, body)
		}
	}

	// The outage: pushes go on until the memory limit.
	srv.Stop()
	var refusals, during int
	var refusal string
	for i := 0; i < 2000 && refusals < 5; i++ {
		code, body := push(batch(20))
		switch code {
		case http.StatusNoContent:
			during += 20
		case http.StatusTooManyRequests:
			refusals++
			refusal = body
		default:
			t.Fatalf("push during the outage: %d %s", code, body)
		}
	}
	if refusals == 0 {
		t.Fatalf("no push refused after %d lines were taken with the store down", during)
	}
	// Once flushes have failed and been retried, the refusal names the
	// store as the cause.
	for deadline := time.Now().Add(30 * time.Second); metric(t, p, "skald_ingester_flush_retries_total") == 0; {
		if time.Now().After(deadline) {
			t.Fatal("no flush retry reported with the store down")
		}
		time.Sleep(50 * time.Millisecond)
	}
	if code, body := push(batch(20)); code != http.StatusTooManyRequests {
		t.Fatalf("push over the limit: %d %s", code, body)
	} else {
		refusal = body
	}
	for _, want := range []string{"ingester memory limit reached", "the store is failing", "retry later"} {
		if !strings.Contains(refusal, want) {
			t.Fatalf("the 429 says %q; want it to say %q", refusal, want)
		}
	}
	held := metric(t, p, "skald_ingester_unflushed_bytes")
	failures := metric(t, p, "skald_ingester_flush_failures_total")
	retries := metric(t, p, "skald_ingester_flush_retries_total")
	if held < limit || failures == 0 || retries == 0 {
		t.Fatalf("during the outage: %v bytes held (limit %d), %v flush failures, %v retries", held, limit, failures, retries)
	}
	t.Logf("outage: %d lines taken while the store was down, then 429: %q; %.0f bytes held, %.0f flush failures, %.0f retries",
		during, strings.TrimSpace(refusal), held, failures, retries)

	// The store comes back: the backlog flushes and pushes are taken again.
	srv.Start()
	deadline := time.Now().Add(60 * time.Second)
	for {
		code, body := push(batch(20))
		if code == http.StatusNoContent {
			break
		}
		if code != http.StatusTooManyRequests || time.Now().After(deadline) {
			t.Fatalf("push after the outage: %d %s", code, body)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if code, body := p.do(http.MethodPost, "/flush", "", "", nil); code != http.StatusNoContent {
		t.Fatalf("flush after the outage: %d %s", code, body)
	}
	const selector = `{job=~"outage-.+"}`
	found := queryEverything(t, p, selector, from, to)
	checkLedger(t, "after the outage", found, lg)
	if n := indexStatsEntries(t, p, selector, from, to); n != len(found) {
		t.Fatalf("the store holds %d entries for %d distinct lines", n, len(found))
	}
	p.stop()

	// A fresh process with an empty data directory finds it all in S3.
	p = start(t, t.TempDir(), args...)
	checkLedger(t, "from S3 alone", queryEverything(t, p, selector, from, to), lg)
	p.stop()
}
