package api

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/prometheus/prometheus/model/labels"
	"go.uber.org/goleak"

	"github.com/skald-logs/skald/pkg/iter"
	"github.com/skald-logs/skald/pkg/logproto"
	"github.com/skald-logs/skald/pkg/logql"
)

// logEngine is an engine over a set of entries: it answers log queries
// over [Start, End) in the asked direction with the asked limit, as the real
// engine does, ignoring the query text.
type logEngine struct {
	mu      sync.Mutex
	entries []iter.StreamEntry
	calls   []logql.Params
	err     error
}

func (e *logEngine) add(lbls labels.Labels, ts int64, line string, sm ...string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.entries = append(e.entries, tailed(lbls, ts, line, sm...))
}

func tailed(lbls labels.Labels, ts int64, line string, sm ...string) iter.StreamEntry {
	en := logproto.Entry{Timestamp: ts, Line: line}
	for i := 0; i+1 < len(sm); i += 2 {
		en.StructuredMetadata = append(en.StructuredMetadata, logproto.LabelAdapter{Name: sm[i], Value: sm[i+1]})
	}
	return iter.StreamEntry{Entry: en, Labels: lbls, Hash: lbls.Hash()}
}

func (e *logEngine) Query(_ context.Context, _ string, p logql.Params) (logql.Result, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.calls = append(e.calls, p)
	if e.err != nil {
		return logql.Result{}, e.err
	}
	var in []iter.StreamEntry
	for _, x := range e.entries {
		if x.Timestamp >= p.Start && x.Timestamp < p.End {
			in = append(in, x)
		}
	}
	slices.SortStableFunc(in, func(a, b iter.StreamEntry) int {
		if p.Direction == logproto.Backward {
			return cmp.Compare(b.Timestamp, a.Timestamp)
		}
		return cmp.Compare(a.Timestamp, b.Timestamp)
	})
	if len(in) > int(p.Limit) {
		in = in[:p.Limit]
	}
	res := logql.Result{Type: logql.ValueStreams}
	idx := map[string]int{}
	for _, x := range in {
		k := x.Labels.String()
		i, ok := idx[k]
		if !ok {
			i = len(res.Streams)
			idx[k] = i
			res.Streams = append(res.Streams, logql.Stream{Labels: x.Labels})
		}
		res.Streams[i].Entries = append(res.Streams[i].Entries, x.Entry)
	}
	return res, nil
}

// fakeTailer stands for the querier: each Tail sends the history, then
// hands the tail over to the test, which sends what it wants through it.
type fakeTailer struct {
	runs chan *fakeTail
}

// fakeTail is one running tail; the test calls send from one goroutine.
type fakeTail struct {
	tenant string
	req    TailRequest
	fail   chan error // a value ends the tail with it
	ended  chan struct{}
}

func (f *fakeTailer) Tail(ctx context.Context, tenant string, r TailRequest) error {
	t := &fakeTail{tenant: tenant, req: r, fail: make(chan error, 1), ended: make(chan struct{})}
	defer close(t.ended)
	if r.History != nil {
		hist, err := r.History(ctx)
		if err != nil {
			return err
		}
		if len(hist) > 0 {
			if err := r.Send(hist, nil); err != nil {
				return err
			}
		}
	}
	f.runs <- t
	select {
	case <-ctx.Done():
		return nil
	case err := <-t.fail:
		return err
	}
}

// tailFixture is an API with a controlled clock over a logEngine and a
// fakeTailer, served by a real HTTP server.
type tailFixture struct {
	api    *API
	engine *logEngine
	tailer *fakeTailer
	clock  atomic.Int64
	srv    *httptest.Server
}

func newTailFixture(t *testing.T, mutate func(*Config)) *tailFixture {
	t.Helper()
	cfg := DefaultConfig()
	if mutate != nil {
		mutate(&cfg)
	}
	f := &tailFixture{engine: &logEngine{}, tailer: &fakeTailer{runs: make(chan *fakeTail, 10)}}
	f.clock.Store(testNow)
	f.api = New(cfg, Deps{Engine: f.engine, Tailer: f.tailer}, nil, nil, nil)
	f.api.now = f.clock.Load
	f.srv = httptest.NewServer(f.api.Handler())
	t.Cleanup(func() {
		f.srv.Close()
		f.api.Shutdown()
	})
	return f
}

// dial opens a tail with the given parameters and headers.
func (f *tailFixture) dial(t *testing.T, params url.Values, header http.Header) *websocket.Conn {
	t.Helper()
	u := "ws" + strings.TrimPrefix(f.srv.URL, "http") + "/loki/api/v1/tail?" + params.Encode()
	conn, resp, err := websocket.DefaultDialer.Dial(u, header)
	if err != nil {
		t.Fatalf("dial: %v (%v)", err, resp)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

// running returns the tail the API started, once its history is sent.
func (f *tailFixture) running(t *testing.T) *fakeTail {
	t.Helper()
	select {
	case r := <-f.tailer.runs:
		return r
	case <-time.After(10 * time.Second):
		t.Fatal("no tail started")
	}
	return nil
}

// tailMsg is a tail message as a client decodes it.
type tailMsg struct {
	Streams []struct {
		Stream map[string]string `json:"stream"`
		Values [][]any           `json:"values"`
	} `json:"streams"`
	Dropped []struct {
		Timestamp string            `json:"timestamp"`
		Labels    map[string]string `json:"labels"`
	} `json:"dropped_entries"`
	EncodingFlags []string `json:"encodingFlags"`
}

// lines returns the messages' lines as "ts line" in order.
func (m tailMsg) lines() []string {
	var out []string
	for _, s := range m.Streams {
		for _, v := range s.Values {
			out = append(out, fmt.Sprintf("%v %v", v[0], v[1]))
		}
	}
	return out
}

// next reads the next text message, failing the test after 10 s.
func next(t *testing.T, conn *websocket.Conn) tailMsg {
	t.Helper()
	_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	typ, data, err := conn.ReadMessage()
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	if typ != websocket.TextMessage {
		t.Fatalf("message type %d", typ)
	}
	var m tailMsg
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatalf("decode %s: %v", data, err)
	}
	return m
}

// closeError reads until the server closes and returns its close frame.
func closeError(t *testing.T, conn *websocket.Conn) *websocket.CloseError {
	t.Helper()
	_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	for {
		_, _, err := conn.ReadMessage()
		if err == nil {
			continue
		}
		var ce *websocket.CloseError
		if !errors.As(err, &ce) {
			t.Fatalf("read ended with %v, not a close frame", err)
		}
		return ce
	}
}

var appLabels = labels.FromStrings("app", "api", "job", "tail")

func q(kv ...string) url.Values {
	v := url.Values{"query": {`{job="tail"}`}}
	for i := 0; i+1 < len(kv); i += 2 {
		v.Set(kv[i], kv[i+1])
	}
	return v
}

func TestTailParams(t *testing.T) {
	f := newTailFixture(t, nil)
	request := func(method, target string, headers ...string) *httptest.ResponseRecorder {
		r := httptest.NewRequest(method, target, nil)
		for _, h := range headers {
			k, v, _ := strings.Cut(h, ": ")
			r.Header.Set(k, v)
		}
		w := httptest.NewRecorder()
		f.api.Handler().ServeHTTP(w, r)
		return w
	}
	for _, tc := range []struct {
		target, body string
	}{
		{"/loki/api/v1/tail?query=%7Bjob%3D%22a%22%7D&delay_for=6", "delay_for can't be greater than 5"},
		{"/loki/api/v1/tail?query=%7Bjob%3D%22a%22%7D&delay_for=-1", "delay_for can't be negative"},
		{"/loki/api/v1/tail?query=%7Bjob%3D%22a%22%7D&delay_for=1.5", `strconv.ParseInt: parsing "1.5": invalid syntax`},
		{"/loki/api/v1/tail?query=%7Bjob%3D%22a%22%7D&limit=0", "limit must be a positive value"},
		{"/loki/api/v1/tail?query=%7Bjob%3D%22a%22", "parse error at line 1, col 9: syntax error: unexpected $end, expecting } or ,"},
		{"/loki/api/v1/tail?query=count_over_time(%7Bjob%3D%22a%22%7D%5B1m%5D)", "only log selector is supported"},
		{"/loki/api/v1/tail?query=%7Bjob%3D~%22.*%22%7D", "parse error : queries require at least one regexp or equality matcher that does not have an empty-compatible value. For instance, app=~\".*\" does not meet this requirement, but app=~\".+\" will"},
		{"/loki/api/v1/tail?query=%7Bjob%3D%22a%22%7D&start=abc", `could not parse 'start' parameter: strconv.ParseInt: parsing "abc": invalid syntax`},
	} {
		w := request(http.MethodGet, tc.target)
		if w.Code != http.StatusBadRequest || w.Body.String() != tc.body || w.Header().Get("Content-Type") != "text/plain; charset=utf-8" {
			t.Errorf("%s: %d %q, want 400 %q", tc.target, w.Code, w.Body.String(), tc.body)
		}
	}
	// Valid parameters, but not a WebSocket handshake.
	if w := request(http.MethodGet, "/loki/api/v1/tail?query=%7Bjob%3D%22a%22%7D"); w.Code != http.StatusBadRequest {
		t.Errorf("plain GET: %d %q", w.Code, w.Body.String())
	}
	if w := request(http.MethodPost, "/loki/api/v1/tail?query=%7Bjob%3D%22a%22%7D"); w.Code != http.StatusMethodNotAllowed {
		t.Errorf("POST: %d", w.Code)
	}
	// A tail belongs to one tenant.
	auth := New(Config{AuthEnabled: true, NoAuthTenant: "fake"}, Deps{Tailer: &fakeTailer{}}, nil, nil, nil)
	w := httptest.NewRecorder()
	r := httptest.NewRequest(http.MethodGet, "/loki/api/v1/tail?query=%7Bjob%3D%22a%22%7D", nil)
	r.Header.Set("X-Scope-OrgID", "a|b")
	auth.Handler().ServeHTTP(w, r)
	if w.Code != http.StatusBadRequest || w.Body.String() != "multiple org IDs present" {
		t.Errorf("two tenants: %d %q", w.Code, w.Body.String())
	}
}

func TestTailHistoryThenLive(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	f := newTailFixture(t, nil)
	sec := int64(time.Second)
	for i := 1; i <= 5; i++ {
		f.engine.add(appLabels, testNow-int64(60-10*i)*sec, fmt.Sprintf("line %d", i))
	}
	f.engine.add(appLabels, testNow-2*3600*sec, "before start")
	conn := f.dial(t, q("limit", "3", "delay_for", "2"), http.Header{"Origin": {"http://elsewhere.example"}})
	run := f.running(t)
	if run.tenant != "fake" || run.req.Query != `{job="tail"}` || run.req.DelayFor != 2*time.Second {
		t.Errorf("tail of %q: %+v", run.tenant, run.req)
	}
	// The history: the newest 3 of the last hour, up to now (the tailer
	// holds back what delay_for asks), oldest first.
	if len(f.engine.calls) != 1 {
		t.Fatalf("%d engine calls", len(f.engine.calls))
	}
	if p := f.engine.calls[0]; p.Start != testNow-3600*sec || p.End != testNow || p.Limit != 3 || p.Direction != logproto.Backward || p.Query != `{job="tail"}` {
		t.Errorf("history query %+v", p)
	}
	m := next(t, conn)
	want := []string{
		fmt.Sprintf("%d line 3", testNow-30*sec), fmt.Sprintf("%d line 4", testNow-20*sec), fmt.Sprintf("%d line 5", testNow-10*sec),
	}
	if !slices.Equal(m.lines(), want) || len(m.Dropped) != 0 || m.EncodingFlags != nil {
		t.Fatalf("history %v, want %v", m.lines(), want)
	}
	for _, s := range m.Streams {
		if fmt.Sprint(s.Stream) != "map[app:api job:tail]" || len(s.Values) != 1 || len(s.Values[0]) != 2 {
			t.Fatalf("stream object %+v", s)
		}
	}

	// Live entries, whatever their time (here a minute old), go out as the
	// tailer sends them, with the drops it reports.
	_ = run.req.Send([]iter.StreamEntry{tailed(appLabels, testNow-60*sec, "late line"), tailed(appLabels, testNow+sec, "line 6")},
		[]iter.StreamEntry{tailed(appLabels, testNow-sec, "")})
	m = next(t, conn)
	if got := m.lines(); !slices.Equal(got, []string{fmt.Sprintf("%d late line", testNow-60*sec), fmt.Sprintf("%d line 6", testNow+sec)}) {
		t.Fatalf("live: %v", got)
	}
	if len(m.Dropped) != 1 || m.Dropped[0].Timestamp != fmt.Sprint(testNow-sec) || fmt.Sprint(m.Dropped[0].Labels) != "map[app:api job:tail]" {
		t.Errorf("dropped %+v", m.Dropped)
	}
	conn.WriteMessage(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""))
	conn.Close()
	<-run.ended // the client going ends the tail
	f.srv.Close()
	f.api.Shutdown()
}

func TestTailCategorizedLabels(t *testing.T) {
	f := newTailFixture(t, nil)
	f.engine.add(appLabels, testNow-int64(time.Second), "level=info msg=hi", "detected_level", "info")
	for _, categorize := range []bool{false, true} {
		h := http.Header{}
		if categorize {
			h.Set("X-Loki-Response-Encoding-Flags", "categorize-labels")
		}
		m := next(t, f.dial(t, q(), h))
		if len(m.Streams) != 1 || len(m.Streams[0].Values) != 1 {
			t.Fatalf("message %+v", m)
		}
		s := m.Streams[0]
		if categorize {
			if fmt.Sprint(s.Stream) != "map[app:api job:tail]" || len(s.Values[0]) != 3 ||
				fmt.Sprint(s.Values[0][2]) != "map[structuredMetadata:map[detected_level:info]]" ||
				!slices.Equal(m.EncodingFlags, []string{"categorize-labels"}) {
				t.Errorf("categorized: %+v", m)
			}
		} else if fmt.Sprint(s.Stream) != "map[app:api detected_level:info job:tail]" || len(s.Values[0]) != 2 || m.EncodingFlags != nil {
			t.Errorf("plain: %+v", m)
		}
	}
}

func TestTailClosesWithTheError(t *testing.T) {
	f := newTailFixture(t, nil)
	conn := f.dial(t, q(), nil)
	f.running(t).fail <- errors.New("all ingesters closed the connection")
	ce := closeError(t, conn)
	if ce.Code != websocket.CloseInternalServerErr || ce.Text != "all ingesters closed the connection" {
		t.Errorf("close %d %q", ce.Code, ce.Text)
	}
	// The history's error too.
	f.engine.err = errors.New("store unreachable")
	ce = closeError(t, f.dial(t, q(), nil))
	if ce.Code != websocket.CloseInternalServerErr || ce.Text != "store unreachable" {
		t.Errorf("close %d %q", ce.Code, ce.Text)
	}
}

func TestTailMaxDuration(t *testing.T) {
	f := newTailFixture(t, func(c *Config) { c.TailMaxDuration = time.Millisecond })
	ce := closeError(t, f.dial(t, q(), nil))
	if ce.Code != websocket.CloseInternalServerErr || ce.Text != "reached tail max duration limit" {
		t.Errorf("close %d %q", ce.Code, ce.Text)
	}
}

func TestTailShutdown(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	f := newTailFixture(t, nil)
	f.engine.add(appLabels, testNow-int64(time.Second), "x")
	conn := f.dial(t, q(), nil)
	next(t, conn)
	run := f.running(t)
	f.api.Shutdown() // returns once the tail has ended
	select {
	case <-run.ended:
	default:
		t.Error("Shutdown returned before the tailer's Tail")
	}
	ce := closeError(t, conn)
	if ce.Code != websocket.CloseGoingAway {
		t.Errorf("close %d %q", ce.Code, ce.Text)
	}
	u := "ws" + strings.TrimPrefix(f.srv.URL, "http") + "/loki/api/v1/tail?" + q().Encode()
	if _, resp, err := websocket.DefaultDialer.Dial(u, nil); err == nil || resp == nil || resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("tail after shutdown: %v %v", err, resp)
	}
	conn.Close()
	f.srv.Close()
}

func TestTailPings(t *testing.T) {
	f := newTailFixture(t, nil)
	f.api.tailPing = 5 * time.Millisecond
	conn := f.dial(t, q(), nil)
	pinged := make(chan struct{}, 1)
	conn.SetPingHandler(func(string) error {
		select {
		case pinged <- struct{}{}:
		default:
		}
		return nil
	})
	go func() {
		for {
			if _, _, err := conn.ReadMessage(); err != nil {
				return
			}
		}
	}()
	select {
	case <-pinged:
	case <-time.After(10 * time.Second):
		t.Fatal("no ping")
	}
}

func TestTailSenderDropsWhenTheClientIsSlow(t *testing.T) {
	out := make(chan *tailMessage, 2)
	s := &tailSender{out: out}
	mk := func(n int, from int64) []iter.StreamEntry {
		es := make([]iter.StreamEntry, n)
		for i := range es {
			es[i] = tailed(appLabels, from+int64(i), "l")
		}
		return es
	}
	// 250 entries: two messages fit the buffer, the third (50) is dropped.
	_ = s.send(mk(250, 0), nil)
	if len(out) != 2 || len(s.dropped) != 50 || s.dropped[0].Timestamp != 200 || s.dropped[0].Line != "" {
		t.Fatalf("buffered %d, dropped %d", len(out), len(s.dropped))
	}
	// More than the drop list holds: it stops at 1000, and drops reported
	// by the tailer count the same.
	_ = s.send(mk(1500, 1000), mk(10, 100))
	if len(s.dropped) != tailMaxDroppedEntries || s.dropped[50].Timestamp != 100 {
		t.Fatalf("dropped %d, want the cap %d", len(s.dropped), tailMaxDroppedEntries)
	}
	<-out
	<-out
	_ = s.send(mk(1, 5000), nil)
	m := <-out
	if len(m.entries) != 1 || len(m.dropped) != tailMaxDroppedEntries || len(s.dropped) != 0 {
		t.Fatalf("message after the client caught up: %d entries, %d dropped reported, %d pending",
			len(m.entries), len(m.dropped), len(s.dropped))
	}
	// The drop report is in the message.
	var d tailMsg
	if err := json.Unmarshal(appendTailMessage(nil, m, false), &d); err != nil {
		t.Fatal(err)
	}
	if len(d.Dropped) != tailMaxDroppedEntries || d.Dropped[0].Timestamp != "200" || fmt.Sprint(d.Dropped[0].Labels) != "map[app:api job:tail]" {
		t.Errorf("dropped_entries %+v", d.Dropped[:1])
	}
}

// TestTailMessageMatchesLoki re-encodes the first message of a real Loki
// tail: entries whose detected_level is structured metadata, not
// categorized.
func TestTailMessageMatchesLoki(t *testing.T) {
	var frame []byte
	sc := bufio.NewScanner(bytes.NewReader(readSample(t, "tail-websocket-frames.txt")))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		if sc.Text() == "# opcode=1" && sc.Scan() {
			frame = []byte(sc.Text())
			break
		}
	}
	var in tailMsg
	if err := json.Unmarshal(frame, &in); err != nil || len(in.Streams) == 0 {
		t.Fatalf("sample frame: %v", err)
	}
	var m tailMessage
	for _, s := range in.Streams {
		var sm []logproto.LabelAdapter
		b := labels.NewBuilder(labels.FromMap(s.Stream))
		if v, ok := s.Stream["detected_level"]; ok {
			sm = append(sm, logproto.LabelAdapter{Name: "detected_level", Value: v})
			b.Del("detected_level")
		}
		for _, v := range s.Values {
			var ts int64
			fmt.Sscan(v[0].(string), &ts)
			m.entries = append(m.entries, iter.StreamEntry{Labels: b.Labels(), Entry: logproto.Entry{Timestamp: ts, Line: v[1].(string), StructuredMetadata: sm}})
		}
	}
	if got := appendTailMessage(nil, &m, false); !bytes.Equal(got, frame) {
		t.Errorf("got  %s\nLoki %s", got, frame)
	}
}

func BenchmarkAppendTailMessage(b *testing.B) {
	m := &tailMessage{}
	var size int64
	for i := range tailMaxEntriesPerMessage {
		line := fmt.Sprintf(`2026-11-23T15:52:42.952245821Z level=info msg="promtail line %d" n=%d`, i, i)
		size += int64(len(line))
		m.entries = append(m.entries, iter.StreamEntry{Labels: appLabels, Entry: logproto.Entry{
			Timestamp: testNow + int64(i), Line: line,
			StructuredMetadata: []logproto.LabelAdapter{{Name: "detected_level", Value: "info"}},
		}})
	}
	buf := make([]byte, 0, 64<<10)
	b.SetBytes(size)
	b.ReportAllocs()
	for b.Loop() {
		buf = appendTailMessage(buf[:0], m, false)
	}
}

func FuzzTailParams(f *testing.F) {
	for _, s := range []string{
		"query=%7Bjob%3D%22a%22%7D&delay_for=2&limit=10&start=1795444985",
		"query=%7Bjob%3D%22a%22%7D&delay_for=-0", "delay_for=99999999999999999999", "query=%7B%7D", "limit=-1",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, form string) {
		vals, err := url.ParseQuery(form)
		if err != nil {
			return
		}
		r := httptest.NewRequest(http.MethodGet, "/loki/api/v1/tail", nil)
		r.Form = vals
		p, err := parseTailParams(r, testNow)
		if err != nil {
			if status, _ := statusAndMessage(err); status != http.StatusBadRequest {
				t.Fatalf("%q: status %d for %v", form, status, err)
			}
			return
		}
		if p.delayFor < 0 || p.delayFor > maxTailDelayFor*time.Second || p.limit == 0 {
			t.Fatalf("%q: accepted %+v", form, p)
		}
	})
}
