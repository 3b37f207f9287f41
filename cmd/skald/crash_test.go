package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang/snappy"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/skald-logs/skald/pkg/logproto/pb"
	"github.com/skald-logs/skald/pkg/wal"
)

// The crash tests kill the real binary with SIGKILL while writers push to
// it, restart it and check that every line whose push was acknowledged
// (204) is there exactly once.

// crashFlags make flushes, cuts and checkpoints happen all the time, so that
// kills land in the middle of them.
var crashFlags = []string{
	"-ingester.flush-check-period=100ms",
	"-ingester.chunk-target-size=16384",
	"-ingester.chunks-block-size=4096",
	"-ingester.checkpoint-duration=700ms",
	"-ingester.chunks-retain-period=0s",
	"-log.level=warn",
}

// pushClient pushes without failing the test: a push to a process that is
// being killed fails, and that is expected.
var pushClient = &http.Client{Timeout: 10 * time.Second}

// tryPush sends lines as one snappy-protobuf push and reports whether it
// was acknowledged.
func tryPush(addr string, lines []line) bool {
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
		panic(err)
	}
	hreq, err := http.NewRequest(http.MethodPost, addr+"/loki/api/v1/push", bytes.NewReader(snappy.Encode(nil, raw)))
	if err != nil {
		panic(err)
	}
	hreq.Header.Set("Content-Type", "application/x-protobuf")
	resp, err := pushClient.Do(hreq)
	if err != nil {
		return false
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode == http.StatusNoContent
}

// ledger records what the writers sent and what was acknowledged.
type ledger struct {
	mu    sync.Mutex
	acked map[line]bool
	sent  map[line]bool
	ts    atomic.Int64 // every line gets its own timestamp
}

func newLedger(base int64) *ledger {
	l := &ledger{acked: map[line]bool{}, sent: map[line]bool{}}
	l.ts.Store(base)
	return l
}

// write pushes batches of lines from one writer until stop is closed, and
// returns how many it got acknowledged.
func (lg *ledger) write(addr string, run, writer int, stop <-chan struct{}) int {
	n := 0
	for seq := 0; ; seq++ {
		select {
		case <-stop:
			return n
		default:
		}
		var batch []line
		for k := range 10 {
			stream := fmt.Sprintf("crash-w%d", writer)
			if k%3 == 0 {
				stream = "crash-shared"
			}
			batch = append(batch, line{stream: stream, ts: lg.ts.Add(1000),
				text: fmt.Sprintf("run=%d writer=%d push=%d line=%d %s", run, writer, seq, k, strings.Repeat("x", (seq*7+k)%60))})
		}
		lg.mu.Lock()
		for _, l := range batch {
			lg.sent[l] = true
		}
		lg.mu.Unlock()
		if !tryPush(addr, batch) {
			// The process is gone (or going): back off a little.
			time.Sleep(5 * time.Millisecond)
			continue
		}
		lg.mu.Lock()
		for _, l := range batch {
			lg.acked[l] = true
		}
		lg.mu.Unlock()
		n += len(batch)
	}
}

// queryEverything pages through the stored lines of selector, oldest
// first. Every line has its own timestamp, so a page ends at a timestamp
// boundary.
func queryEverything(t *testing.T, p *proc, selector string, from, to int64) []line {
	t.Helper()
	var out []line
	for {
		page := queryAll(t, p, selector, from, to, "forward")
		out = append(out, page...)
		if len(page) < 5000 {
			return out
		}
		from = page[len(page)-1].ts + 1
	}
}

// checkLedger checks that every acknowledged line is found exactly once and
// that nothing was found that was not sent.
func checkLedger(t *testing.T, what string, found []line, lg *ledger) {
	t.Helper()
	lg.mu.Lock()
	defer lg.mu.Unlock()
	seen := map[line]int{}
	for _, l := range found {
		seen[l]++
		if seen[l] == 2 {
			t.Errorf("%s: line found twice: %+v", what, l)
		}
		if !lg.sent[l] {
			t.Errorf("%s: found a line never sent: %+v", what, l)
		}
	}
	missing := 0
	for l := range lg.acked {
		if seen[l] == 0 {
			if missing < 5 {
				t.Errorf("%s: acknowledged line missing: %+v", what, l)
			}
			missing++
		}
	}
	if missing > 0 || t.Failed() {
		t.Fatalf("%s: %d of %d acknowledged lines missing", what, missing, len(lg.acked))
	}
}

func indexStatsEntries(t *testing.T, p *proc, selector string, from, to int64) int {
	t.Helper()
	code, body := p.get("/loki/api/v1/index/stats", url.Values{"query": {selector},
		"start": {strconv.FormatInt(from, 10)}, "end": {strconv.FormatInt(to, 10)}})
	if code != http.StatusOK {
		t.Fatalf("index/stats: %d %s", code, body)
	}
	var st struct{ Entries int }
	if err := json.Unmarshal(body, &st); err != nil {
		t.Fatal(err)
	}
	return st.Entries
}

// kill sends SIGKILL and waits for the process to be gone.
func (p *proc) kill() {
	p.t.Helper()
	if err := p.cmd.Process.Kill(); err != nil {
		p.t.Fatal(err)
	}
	<-p.done
}

func TestCrashKill9(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	if s := os.Getenv("SKALD_CRASH_SEED"); s != "" {
		seed, _ = strconv.ParseUint(s, 10, 64)
	}
	rng := rand.New(rand.NewPCG(seed, 0))
	t.Logf("seed %d (set SKALD_CRASH_SEED to repeat)", seed)

	dir := t.TempDir()
	base := time.Now().Add(-30 * time.Minute).UnixNano()
	from, to := base, time.Now().Add(time.Hour).UnixNano()
	lg := newLedger(base)
	const runs, writers = 6, 4
	const selector = `{job=~"crash-.+"}`

	p := start(t, dir, crashFlags...)
	for run := range runs {
		stop := make(chan struct{})
		var wg sync.WaitGroup
		var acked atomic.Int64
		for w := range writers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				acked.Add(int64(lg.write(p.addr, run, w, stop)))
			}()
		}
		// Kill at a random moment; in every other run, in the middle of an
		// explicit flush of everything.
		time.Sleep(time.Duration(300+rng.IntN(900)) * time.Millisecond)
		duringFlush := run%2 == 1
		flushDone := make(chan bool, 1)
		if duringFlush {
			go func() {
				resp, err := http.Post(p.addr+"/flush", "", nil)
				if err == nil {
					resp.Body.Close()
				}
				flushDone <- err == nil
			}()
			time.Sleep(time.Duration(rng.IntN(4)) * time.Millisecond)
		}
		p.kill()
		close(stop)
		wg.Wait()
		flushFinished := false
		if duringFlush {
			flushFinished = <-flushDone
		}

		t0 := time.Now()
		p = start(t, dir, crashFlags...)
		restart := time.Since(t0)
		found := queryEverything(t, p, selector, from, to)
		checkLedger(t, fmt.Sprintf("run %d", run), found, lg)
		lg.mu.Lock()
		total := len(lg.acked)
		lg.mu.Unlock()
		t.Logf("run %d: killed after %d lines acknowledged in this run (during /flush: %v, flush finished first: %v); restart to ready %v; all %d lines acknowledged so far found once (%d found, unacknowledged ones included)",
			run, acked.Load(), duringFlush, flushFinished, restart.Round(time.Millisecond), total, len(found))
	}

	// Everything flushed: each line is stored once.
	if code, body := p.do(http.MethodPost, "/flush", "", "", nil); code != http.StatusNoContent {
		t.Fatalf("flush: %d %s", code, body)
	}
	found := queryEverything(t, p, selector, from, to)
	checkLedger(t, "after final flush", found, lg)
	if n := indexStatsEntries(t, p, selector, from, to); n != len(found) {
		t.Fatalf("the store holds %d entries for %d distinct lines: some were stored twice", n, len(found))
	}
	p.stop()
}

// Damage the tail of the last WAL segment in several ways: the server
// starts and serves every record before the damage.
func TestCrashCorruptWALTail(t *testing.T) {
	flags := []string{"-ingester.flush-check-period=1h", "-ingester.checkpoint-duration=1h", "-log.level=warn"}
	dir := t.TempDir()
	base := time.Now().Add(-20 * time.Minute).UnixNano()
	from, to := base, time.Now().Add(time.Hour).UnixNano()
	lg := newLedger(base)
	p := start(t, dir, flags...)
	for seq := range 30 {
		var batch []line
		for k := range 5 {
			batch = append(batch, line{stream: "crash-tail", ts: lg.ts.Add(1000), text: fmt.Sprintf("push=%d line=%d", seq, k)})
		}
		if !tryPush(p.addr, batch) {
			t.Fatal("push not acknowledged")
		}
		for _, l := range batch {
			lg.acked[l], lg.sent[l] = true, true
		}
	}
	p.kill()

	walDir := filepath.Join(dir, "wal")
	segs, err := filepath.Glob(filepath.Join(walDir, "0*"))
	if err != nil || len(segs) == 0 {
		t.Fatalf("no wal segment: %v", err)
	}
	slices.Sort(segs)
	last := segs[len(segs)-1]
	data, err := os.ReadFile(last)
	if err != nil {
		t.Fatal(err)
	}
	// Find the last record and the lines it holds.
	r := wal.NewSegmentReader(bytes.NewReader(data), int64(len(data)))
	var lastStart int64
	var lastLines []string
	for {
		off := r.Offset()
		if !r.Next() {
			break
		}
		lastStart = off
		var rec wal.Record
		if err := rec.Decode(r.Record()); err != nil {
			t.Fatal(err)
		}
		lastLines = lastLines[:0]
		for _, e := range rec.Entries {
			lastLines = append(lastLines, strings.Clone(e.Line))
		}
	}
	if len(lastLines) != 5 || r.Offset() != int64(len(data)) || len(r.Damage()) != 0 {
		t.Fatalf("last record holds %d lines, ends at %d of %d, damage %v", len(lastLines), r.Offset(), len(data), r.Damage())
	}

	for _, tc := range []struct {
		name     string
		damage   func([]byte) []byte
		loseLast bool
	}{
		{"truncated in the frame header", func(b []byte) []byte { return b[:lastStart+4] }, true},
		{"truncated in the payload", func(b []byte) []byte { return b[:len(b)-3] }, true},
		{"garbled payload byte", func(b []byte) []byte { b[len(b)-10] ^= 0x55; return b }, true},
		{"garbage appended", func(b []byte) []byte { return append(b, "\xd7garbage after the last record"...) }, false},
		{"zeros appended", func(b []byte) []byte { return append(b, make([]byte, 4096)...) }, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := t.TempDir()
			if err := os.CopyFS(d, os.DirFS(dir)); err != nil {
				t.Fatal(err)
			}
			seg := filepath.Join(d, "wal", filepath.Base(last))
			if err := os.WriteFile(seg, tc.damage(bytes.Clone(data)), 0o644); err != nil {
				t.Fatal(err)
			}
			p := start(t, d, flags...)
			found := queryEverything(t, p, `{job="crash-tail"}`, from, to)
			want := &ledger{acked: map[line]bool{}, sent: lg.sent}
			for l := range lg.acked {
				if !tc.loseLast || !slices.Contains(lastLines, l.text) {
					want.acked[l] = true
				}
			}
			checkLedger(t, tc.name, found, want)
			if tc.loseLast && len(found) != len(want.acked) {
				t.Fatalf("found %d lines, want the %d before the damage", len(found), len(want.acked))
			}
			_, metrics := p.get("/metrics", nil)
			if tc.loseLast && !bytes.Contains(metrics, []byte(`skald_ingester_wal_corruptions_total{kind="torn_tail"} 1`)) {
				t.Fatalf("damage not counted in /metrics")
			}
			p.stop()
		})
	}
}
