package main

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/golang/snappy"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/skald-logs/skald/pkg/logproto/pb"
	"github.com/skald-logs/skald/pkg/objstore/s3/s3test"
)

// The end-to-end tests build the real binary, run it as a child process on a
// loopback port and talk to it over HTTP, as a user's tools do.

var skaldBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "skald-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	skaldBin = filepath.Join(dir, "skald")
	build := exec.Command("go", "build", "-o", skaldBin, ".")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build skald:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// proc is one running skald process.
type proc struct {
	t    *testing.T
	cmd  *exec.Cmd
	addr string
	logs *bytes.Buffer
	done chan error
}

func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// start runs skald on dataDir and waits until it is ready.
func start(t *testing.T, dataDir string, args ...string) *proc {
	t.Helper()
	port := freePort(t)
	all := append([]string{
		"-server.http-listen-address=127.0.0.1",
		"-server.http-listen-port=" + strconv.Itoa(port),
		"-common.path-prefix=" + dataDir,
		"-log.level=info",
	}, args...)
	p := &proc{t: t, cmd: exec.Command(skaldBin, all...), addr: "http://127.0.0.1:" + strconv.Itoa(port), logs: &bytes.Buffer{}, done: make(chan error, 1)}
	p.cmd.Stdout, p.cmd.Stderr = p.logs, p.logs
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.done <- p.cmd.Wait() }()
	t.Cleanup(func() {
		if p.cmd.ProcessState == nil {
			_ = p.cmd.Process.Kill()
			<-p.done
		}
		if t.Failed() {
			t.Logf("skald output:\n%s", p.logs.String())
		}
	})
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := http.Get(p.addr + "/ready")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return p
			}
		}
		select {
		case err := <-p.done:
			t.Fatalf("skald exited before ready: %v\n%s", err, p.logs.String())
		case <-time.After(50 * time.Millisecond):
		}
	}
	t.Fatalf("skald not ready after 30s\n%s", p.logs.String())
	return nil
}

// stop sends SIGTERM and expects a clean exit.
func (p *proc) stop() {
	p.t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		p.t.Fatal(err)
	}
	select {
	case err := <-p.done:
		if err != nil {
			p.t.Fatalf("skald exited with %v after SIGTERM\n%s", err, p.logs.String())
		}
	case <-time.After(60 * time.Second):
		p.t.Fatal("skald did not exit within 60s of SIGTERM")
	}
}

func (p *proc) do(method, path, contentType, encoding string, body []byte) (int, []byte) {
	p.t.Helper()
	req, err := http.NewRequest(method, p.addr+path, bytes.NewReader(body))
	if err != nil {
		p.t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if encoding != "" {
		req.Header.Set("Content-Encoding", encoding)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		p.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		p.t.Fatal(err)
	}
	return resp.StatusCode, b
}

func (p *proc) get(path string, params url.Values) (int, []byte) {
	return p.do(http.MethodGet, path+"?"+params.Encode(), "", "", nil)
}

// line is one pushed entry, as the tests track it.
type line struct {
	stream string // job label
	ts     int64
	text   string
}

func pushProto(t *testing.T, p *proc, lines []line, metadata map[string]string) {
	t.Helper()
	req := &pb.PushRequest{}
	byStream := map[string]*pb.StreamAdapter{}
	for _, l := range lines {
		s := byStream[l.stream]
		if s == nil {
			s = &pb.StreamAdapter{Labels: fmt.Sprintf(`{job=%q, source="proto"}`, l.stream)}
			byStream[l.stream] = s
			req.Streams = append(req.Streams, s)
		}
		e := &pb.EntryAdapter{Timestamp: timestamppb.New(time.Unix(0, l.ts)), Line: l.text}
		for k, v := range metadata {
			e.StructuredMetadata = append(e.StructuredMetadata, &pb.LabelPairAdapter{Name: k, Value: v})
		}
		s.Entries = append(s.Entries, e)
	}
	raw, err := proto.Marshal(req)
	if err != nil {
		t.Fatal(err)
	}
	code, body := p.do(http.MethodPost, "/loki/api/v1/push", "application/x-protobuf", "", snappy.Encode(nil, raw))
	if code != http.StatusNoContent {
		t.Fatalf("protobuf push: %d %s", code, body)
	}
}

func pushJSON(t *testing.T, p *proc, lines []line, gz bool) {
	t.Helper()
	type stream struct {
		Stream map[string]string `json:"stream"`
		Values [][]string        `json:"values"`
	}
	byStream := map[string]*stream{}
	var order []string
	for _, l := range lines {
		s := byStream[l.stream]
		if s == nil {
			s = &stream{Stream: map[string]string{"job": l.stream, "source": "json"}}
			byStream[l.stream] = s
			order = append(order, l.stream)
		}
		s.Values = append(s.Values, []string{strconv.FormatInt(l.ts, 10), l.text})
	}
	var body struct {
		Streams []*stream `json:"streams"`
	}
	for _, k := range order {
		body.Streams = append(body.Streams, byStream[k])
	}
	data, err := json.Marshal(body)
	if err != nil {
		t.Fatal(err)
	}
	enc := ""
	if gz {
		var b bytes.Buffer
		w := gzip.NewWriter(&b)
		w.Write(data)
		w.Close()
		data, enc = b.Bytes(), "gzip"
	}
	code, resp := p.do(http.MethodPost, "/loki/api/v1/push", "application/json", enc, data)
	if code != http.StatusNoContent {
		t.Fatalf("JSON push: %d %s", code, resp)
	}
}

type streamsResponse struct {
	Status string `json:"status"`
	Data   struct {
		ResultType string `json:"resultType"`
		Result     []struct {
			Stream map[string]string `json:"stream"`
			Values [][]string        `json:"values"`
		} `json:"result"`
	} `json:"data"`
}

// queryAll returns every entry of query in [from, to), oldest first, asking
// forward with a limit above the number expected.
func queryAll(t *testing.T, p *proc, query string, from, to int64, dir string) []line {
	t.Helper()
	code, body := p.get("/loki/api/v1/query_range", url.Values{
		"query": {query}, "start": {strconv.FormatInt(from, 10)}, "end": {strconv.FormatInt(to, 10)},
		"limit": {"5000"}, "direction": {dir},
	})
	if code != http.StatusOK {
		t.Fatalf("query %s: %d %s", query, code, body)
	}
	var r streamsResponse
	if err := json.Unmarshal(body, &r); err != nil {
		t.Fatalf("decode %s: %v", body, err)
	}
	if r.Status != "success" || r.Data.ResultType != "streams" {
		t.Fatalf("unexpected envelope: %s", body)
	}
	var out []line
	for _, s := range r.Data.Result {
		var prev int64
		for i, v := range s.Values {
			if len(v) != 2 {
				t.Fatalf("value is not a pair: %v", v)
			}
			ts, err := strconv.ParseInt(v[0], 10, 64)
			if err != nil {
				t.Fatalf("timestamp %q: %v", v[0], err)
			}
			if i > 0 && (dir == "forward" && ts < prev || dir == "backward" && ts > prev) {
				t.Fatalf("entries of %v out of %s order: %d after %d", s.Stream, dir, ts, prev)
			}
			prev = ts
			out = append(out, line{stream: s.Stream["job"], ts: ts, text: v[1]})
		}
	}
	sortLines(out)
	return out
}

func sortLines(ls []line) {
	sort.Slice(ls, func(i, j int) bool {
		if ls[i].ts != ls[j].ts {
			return ls[i].ts < ls[j].ts
		}
		if ls[i].stream != ls[j].stream {
			return ls[i].stream < ls[j].stream
		}
		return ls[i].text < ls[j].text
	})
}

func sameLines(t *testing.T, what string, got, want []line) {
	t.Helper()
	want = append([]line(nil), want...)
	sortLines(want)
	if len(got) != len(want) {
		t.Fatalf("%s: got %d entries, want %d", what, len(got), len(want))
	}
	for i := range got {
		if got[i] != want[i] {
			t.Fatalf("%s: entry %d is %+v, want %+v", what, i, got[i], want[i])
		}
	}
}

func makeLines(stream string, base int64, n int, text string) []line {
	out := make([]line, n)
	for i := range out {
		out[i] = line{stream: stream, ts: base + int64(i)*int64(time.Millisecond), text: fmt.Sprintf("%s %s line=%d", text, stream, i)}
	}
	return out
}

func TestEndToEndPushQueryFlushRestart(t *testing.T) {
	dir := t.TempDir()
	p := start(t, dir)
	base := time.Now().Add(-10 * time.Minute).UnixNano()
	from, to := base-int64(time.Hour), time.Now().Add(time.Minute).UnixNano()

	protoLines := append(makeLines("api", base, 300, "GET /users 200"), makeLines("db", base+1, 200, "slow query needle")...)
	pushProto(t, p, protoLines, map[string]string{"trace_id": "abc"})
	jsonLines := makeLines("web", base+2, 150, "level=error msg=boom")
	pushJSON(t, p, jsonLines[:100], false)
	pushJSON(t, p, jsonLines[100:], true)
	// A re-sent batch is stored once.
	pushJSON(t, p, jsonLines[:10], false)

	all := append(append([]line(nil), protoLines...), jsonLines...)
	sameLines(t, "before flush, forward", queryAll(t, p, `{job=~".+"}`, from, to, "forward"), all)
	sameLines(t, "before flush, backward", queryAll(t, p, `{job=~".+"}`, from, to, "backward"), all)
	needle := makeLines("db", base+1, 200, "slow query needle")
	sameLines(t, "line filter", queryAll(t, p, `{job=~".+"} |= "needle"`, from, to, "forward"), needle)

	if code, body := p.do(http.MethodPost, "/flush", "", "", nil); code != http.StatusNoContent {
		t.Fatalf("flush: %d %s", code, body)
	}
	sameLines(t, "after flush", queryAll(t, p, `{job=~".+"}`, from, to, "forward"), all)
	code, body := p.get("/loki/api/v1/index/stats", url.Values{"query": {`{job="api"}`}, "start": {strconv.FormatInt(from, 10)}, "end": {strconv.FormatInt(to, 10)}})
	if code != http.StatusOK {
		t.Fatalf("index/stats: %d %s", code, body)
	}
	var stats struct{ Streams, Chunks, Entries, Bytes int }
	if err := json.Unmarshal(body, &stats); err != nil {
		t.Fatal(err)
	}
	if stats.Streams != 1 || stats.Chunks < 1 || stats.Entries != 300 {
		t.Fatalf("index/stats after flush = %s, want 1 stream with 300 entries", body)
	}
	p.stop()

	// Restart: everything flushed comes back exactly once.
	p = start(t, dir)
	sameLines(t, "after restart", queryAll(t, p, `{job=~".+"}`, from, to, "forward"), all)

	// Push more and stop with SIGTERM without an explicit flush.
	more := makeLines("api", base+int64(time.Minute), 50, "GET /orders 201")
	pushProto(t, p, more, nil)
	all = append(all, more...)
	p.stop()
	p = start(t, dir)
	sameLines(t, "after SIGTERM restart", queryAll(t, p, `{job=~".+"}`, from, to, "forward"), all)
	sameLines(t, "narrow selector", queryAll(t, p, `{job="web", source="json"}`, from, to, "backward"), jsonLines)
	p.stop()
}

func TestEndToEndS3(t *testing.T) {
	s3cfg := s3test.Start(t)
	args := []string{
		"-storage.backend=s3",
		"-s3.endpoint=" + s3cfg.Endpoint,
		"-s3.bucket=" + s3cfg.Bucket,
		"-s3.region=" + s3cfg.Region,
		"-s3.access-key-id=" + s3cfg.AccessKeyID,
		"-s3.secret-access-key=" + s3cfg.SecretAccessKey,
		"-s3.force-path-style=true",
		"-s3.insecure=" + strconv.FormatBool(s3cfg.Insecure),
	}
	dir := t.TempDir()
	p := start(t, dir, args...)
	base := time.Now().Add(-5 * time.Minute).UnixNano()
	from, to := base-int64(time.Hour), time.Now().Add(time.Minute).UnixNano()
	lines := append(makeLines("s3a", base, 200, "stored in s3"), makeLines("s3b", base+5, 100, "also in s3")...)
	pushProto(t, p, lines, nil)
	if code, body := p.do(http.MethodPost, "/flush", "", "", nil); code != http.StatusNoContent {
		t.Fatalf("flush: %d %s", code, body)
	}
	p.stop()
	// A fresh data directory: everything must come from S3.
	p = start(t, t.TempDir(), args...)
	sameLines(t, "from S3 after restart", queryAll(t, p, `{source="proto"}`, from, to, "backward"), lines)
	p.stop()
}

// TestEndToEndCompaction flushes several times, lets the compactor merge the
// day's index objects and delete the inputs, and checks every line is still
// there exactly once, before and after a restart.
func TestEndToEndCompaction(t *testing.T) {
	dir := t.TempDir()
	args := []string{"-compactor.compaction-interval=200ms", "-compactor.min-objects=3",
		"-compactor.delete-delay=400ms", "-store.index-refresh-period=0s"}
	p := start(t, dir, args...)
	base := time.Now().Add(-5 * time.Minute).UnixNano()
	from, to := base-int64(time.Hour), time.Now().Add(time.Minute).UnixNano()
	var all []line
	for i := 0; i < 4; i++ {
		ls := makeLines(fmt.Sprintf("c%d", i), base+int64(i), 50, "compact me")
		pushProto(t, p, ls, nil)
		if code, body := p.do(http.MethodPost, "/flush", "", "", nil); code != http.StatusNoContent {
			t.Fatalf("flush: %d %s", code, body)
		}
		all = append(all, ls...)
	}
	indexFiles := func() []string {
		files, _ := filepath.Glob(filepath.Join(dir, "objects", "index", "fake", "*", "*.idx"))
		return files
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		files := indexFiles()
		if len(files) == 1 && strings.Contains(files[0], "compacted-") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("index objects not compacted: %v", files)
		}
		sameLines(t, "while compacting", queryAll(t, p, `{source="proto"}`, from, to, "forward"), all)
		time.Sleep(100 * time.Millisecond)
	}
	sameLines(t, "after compaction", queryAll(t, p, `{source="proto"}`, from, to, "forward"), all)
	p.stop()
	p = start(t, dir, args...)
	sameLines(t, "after restart", queryAll(t, p, `{source="proto"}`, from, to, "backward"), all)
	p.stop()
}
