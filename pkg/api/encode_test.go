package api

import (
	"bytes"
	"encoding/json"
	"math"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/skald-logs/skald/pkg/logproto"
	"github.com/skald-logs/skald/pkg/logql"
)

// splitAtStats cuts a query response at its "stats" key: the part before
// is compared byte for byte, the stats object by shape.
func splitAtStats(t *testing.T, b []byte) (head []byte, stats any) {
	t.Helper()
	i := bytes.Index(b, []byte(`,"stats":`))
	if i < 0 {
		t.Fatalf("no stats in %s", truncate(string(b), 200))
	}
	var resp struct {
		Data struct {
			Stats any `json:"stats"`
		} `json:"data"`
	}
	if err := json.Unmarshal(b, &resp); err != nil {
		t.Fatal(err)
	}
	return b[:i], resp.Data.Stats
}

// objectKeySequence lists every object key of b in document order, with
// its path, so key order can be compared.
func objectKeySequence(t *testing.T, b []byte) []string {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(b))
	var (
		keys  []string
		stack []string // path; "" marks an array level
		isKey []bool   // per level: is the next string token a key
	)
	for {
		tok, err := dec.Token()
		if err != nil {
			break
		}
		switch v := tok.(type) {
		case json.Delim:
			switch v {
			case '{':
				isKey = append(isKey, true)
				stack = append(stack, "")
			case '[':
				isKey = append(isKey, false)
				stack = append(stack, "[]")
			case '}', ']':
				isKey = isKey[:len(isKey)-1]
				stack = stack[:len(stack)-1]
				if n := len(isKey); n > 0 && stack[n-1] != "[]" {
					isKey[n-1] = true
				}
			}
			continue
		case string:
			if n := len(isKey); n > 0 && isKey[n-1] {
				stack[n-1] = v
				keys = append(keys, strings.Join(stack, "/"))
				isKey[n-1] = false
				continue
			}
		}
		if n := len(isKey); n > 0 && stack[n-1] != "[]" {
			isKey[n-1] = true
		}
	}
	return keys
}

// checkStatsShape compares a stats object with the one of a Loki sample:
// the same keys, in the same order, with the same JSON types.
func checkStatsShape(t *testing.T, got, want []byte) {
	t.Helper()
	_, gs := splitAtStats(t, got)
	_, ws := splitAtStats(t, want)
	gk, wk := map[string]string{}, map[string]string{}
	jsonKeyTypes(gs, "", gk)
	jsonKeyTypes(ws, "", wk)
	// Loki leaves ingester.recvWaitTime out when it is zero (matrix and
	// scalar samples); we always write it.
	if _, ok := wk["/ingester/recvWaitTime"]; !ok {
		delete(gk, "/ingester/recvWaitTime")
	}
	diffKeyTypes(t, "stats", gk, wk)
	gseq := objectKeySequence(t, mustMarshalRaw(t, got, "stats"))
	wseq := objectKeySequence(t, mustMarshalRaw(t, want, "stats"))
	gseq = slices.DeleteFunc(gseq, func(k string) bool {
		return k == "ingester/recvWaitTime" && !slices.Contains(wseq, k)
	})
	if !slices.Equal(gseq, wseq) {
		t.Errorf("stats key order differs:\n got %v\nwant %v", gseq, wseq)
	}
}

// mustMarshalRaw returns the raw bytes of data.<key> of a response.
func mustMarshalRaw(t *testing.T, b []byte, key string) []byte {
	t.Helper()
	var resp struct {
		Data map[string]json.RawMessage `json:"data"`
	}
	if err := json.Unmarshal(b, &resp); err != nil {
		t.Fatal(err)
	}
	return resp.Data[key]
}

// streamsFromCategorizedSample rebuilds the engine's view of a categorized
// Loki response: stream labels, and per entry its structured metadata and
// parsed labels.
func streamsFromCategorizedSample(t *testing.T, b []byte) []logql.Stream {
	t.Helper()
	var resp struct {
		Data struct {
			Result []struct {
				Stream map[string]string   `json:"stream"`
				Values [][]json.RawMessage `json:"values"`
			} `json:"result"`
		} `json:"data"`
	}
	if err := json.Unmarshal(b, &resp); err != nil {
		t.Fatal(err)
	}
	var out []logql.Stream
	for _, s := range resp.Data.Result {
		st := logql.Stream{Labels: labels.FromMap(s.Stream)}
		for _, v := range s.Values {
			var ts, line string
			var cat struct {
				StructuredMetadata map[string]string `json:"structuredMetadata"`
				Parsed             map[string]string `json:"parsed"`
			}
			if err := json.Unmarshal(v[0], &ts); err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal(v[1], &line); err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal(v[2], &cat); err != nil {
				t.Fatal(err)
			}
			n, err := strconv.ParseInt(ts, 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			st.Entries = append(st.Entries, logproto.Entry{
				Timestamp:          n,
				Line:               line,
				StructuredMetadata: adapters(cat.StructuredMetadata),
				Parsed:             adapters(cat.Parsed),
			})
		}
		out = append(out, st)
	}
	return out
}

func adapters(m map[string]string) []logproto.LabelAdapter {
	var out []logproto.LabelAdapter
	for k, v := range m {
		out = append(out, logproto.LabelAdapter{Name: k, Value: v})
	}
	slices.SortFunc(out, func(a, b logproto.LabelAdapter) int { return strings.Compare(a.Name, b.Name) })
	return out
}

func encode(t *testing.T, res logql.Result, dir logproto.Direction, categorize bool) []byte {
	t.Helper()
	b, err := appendQueryResponse(nil, &res, dir, categorize)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func compareWithSample(t *testing.T, got []byte, sample string) {
	t.Helper()
	want := readSample(t, sample)
	gh, _ := splitAtStats(t, got)
	wh, _ := splitAtStats(t, want)
	if !bytes.Equal(gh, wh) {
		t.Errorf("response differs from %s before stats:\n got %s\nwant %s", sample, gh, wh)
	}
	checkStatsShape(t, got, want)
	if gotNL, wantNL := bytes.HasSuffix(got, []byte("\n")), bytes.HasSuffix(want, []byte("\n")); gotNL != wantNL {
		t.Errorf("trailing newline: got %v, Loki %v", gotNL, wantNL)
	}
}

// The engine result behind Loki's categorized sample must encode to that
// sample with the header, and to Loki's default (merged, split, re-sorted)
// sample without it.
func TestStreamsMatchLokiSamples(t *testing.T) {
	streams := streamsFromCategorizedSample(t, readSample(t, "query_range-streams-categorize-labels.json"))
	if len(streams) != 3 {
		t.Fatalf("sample has %d streams, want 3", len(streams))
	}
	res := logql.Result{Type: logql.ValueStreams, Streams: streams}
	t.Run("categorized", func(t *testing.T) {
		compareWithSample(t, encode(t, res, logproto.Backward, true), "query_range-streams-categorize-labels.json")
	})
	t.Run("merged", func(t *testing.T) {
		compareWithSample(t, encode(t, res, logproto.Backward, false), "query_range-streams.json")
	})
	t.Run("engine order does not matter", func(t *testing.T) {
		rev := slices.Clone(streams)
		slices.Reverse(rev)
		compareWithSample(t, encode(t, logql.Result{Type: logql.ValueStreams, Streams: rev}, logproto.Backward, false), "query_range-streams.json")
	})
}

func TestStreamsParsedLabelsMatchLokiSample(t *testing.T) {
	res := logql.Result{Type: logql.ValueStreams, Streams: []logql.Stream{{
		Labels: labels.FromStrings("app", "worker", "job", "smoke", "service_name", "worker"),
		Entries: []logproto.Entry{{
			Timestamp:          1795448484000000000,
			Line:               `{"msg":"job failed","dur_ms":340,"status":"err"}`,
			StructuredMetadata: []logproto.LabelAdapter{{Name: "detected_level", Value: "error"}},
			Parsed: []logproto.LabelAdapter{
				{Name: "dur_ms", Value: "340"}, {Name: "msg", Value: "job failed"}, {Name: "status", Value: "err"},
			},
		}},
	}}}
	compareWithSample(t, encode(t, res, logproto.Backward, false), "query_range-json-parser.json")
}

// Metric samples: decoding Loki's answer into our types and encoding it
// again must give Loki's bytes (number formats, key order, empty metrics).
func TestMetricResultsMatchLokiSamples(t *testing.T) {
	for _, sample := range []string{
		"query_range-matrix.json", "query_range-matrix-rate.json",
		"query-instant-vector.json", "query-scalar-vector.json", "query-scalar.json",
	} {
		t.Run(sample, func(t *testing.T) {
			b := readSample(t, sample)
			var resp struct {
				Data struct {
					ResultType string          `json:"resultType"`
					Result     json.RawMessage `json:"result"`
				} `json:"data"`
			}
			if err := json.Unmarshal(b, &resp); err != nil {
				t.Fatal(err)
			}
			res := logql.Result{Type: logql.ValueType(resp.Data.ResultType)}
			switch res.Type {
			case logql.ValueMatrix:
				var m []struct {
					Metric map[string]string `json:"metric"`
					Values [][2]any          `json:"values"`
				}
				mustUnmarshal(t, resp.Data.Result, &m)
				for _, s := range m {
					series := logql.Series{Metric: labels.FromMap(s.Metric)}
					for _, v := range s.Values {
						series.Points = append(series.Points, point(t, v))
					}
					res.Matrix = append(res.Matrix, series)
				}
			case logql.ValueVector:
				var v []struct {
					Metric map[string]string `json:"metric"`
					Value  [2]any            `json:"value"`
				}
				mustUnmarshal(t, resp.Data.Result, &v)
				for _, s := range v {
					p := point(t, s.Value)
					res.Vector = append(res.Vector, logql.Sample{Metric: labels.FromMap(s.Metric), T: p.T, V: p.V})
				}
			case logql.ValueScalar:
				var v [2]any
				mustUnmarshal(t, resp.Data.Result, &v)
				res.Scalar = point(t, v)
			default:
				t.Fatalf("unexpected result type %q", res.Type)
			}
			// The categorize flag changes nothing for metric results.
			compareWithSample(t, encode(t, res, logproto.Backward, true), sample)
		})
	}
}

func mustUnmarshal(t *testing.T, b []byte, v any) {
	t.Helper()
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatal(err)
	}
}

func point(t *testing.T, v [2]any) logql.Point {
	t.Helper()
	secs, ok := v[0].(float64)
	if !ok {
		t.Fatalf("timestamp %v is not a number", v[0])
	}
	s, ok := v[1].(string)
	if !ok {
		t.Fatalf("value %v is not a string", v[1])
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		t.Fatal(err)
	}
	return logql.Point{T: int64(math.Round(secs * 1000)), V: f}
}

func entry(ts int64, line string, sm ...string) logproto.Entry {
	e := logproto.Entry{Timestamp: ts, Line: line}
	for i := 0; i+1 < len(sm); i += 2 {
		e.StructuredMetadata = append(e.StructuredMetadata, logproto.LabelAdapter{Name: sm[i], Value: sm[i+1]})
	}
	return e
}

type wantStream struct {
	labels string
	ts     []int64
}

func summarize(streams []outStream) []wantStream {
	var out []wantStream
	for _, s := range streams {
		w := wantStream{labels: s.labels.String()}
		for _, e := range s.refs {
			w.ts = append(w.ts, e.Timestamp)
		}
		for _, e := range s.whole {
			w.ts = append(w.ts, e.Timestamp)
		}
		out = append(out, w)
	}
	return out
}

func TestBuildStreams(t *testing.T) {
	web := labels.FromStrings("app", "web")
	api := labels.FromStrings("app", "api")
	tests := []struct {
		name       string
		in         []logql.Stream
		dir        logproto.Direction
		categorize bool
		want       []wantStream
	}{
		{
			name: "sorted by label string",
			in:   []logql.Stream{{Labels: web, Entries: []logproto.Entry{entry(1, "a")}}, {Labels: api, Entries: []logproto.Entry{entry(2, "b")}}},
			want: []wantStream{{`{app="api"}`, []int64{2}}, {`{app="web"}`, []int64{1}}},
		},
		{
			name: "split by structured metadata, order kept",
			in: []logql.Stream{{Labels: web, Entries: []logproto.Entry{
				entry(5, "a", "level", "info"), entry(4, "b", "level", "error"), entry(3, "c", "level", "info"), entry(2, "d"),
			}}},
			// '{app="web", …' sorts before '{app="web"}': ',' < '}'.
			want: []wantStream{
				{`{app="web", level="error"}`, []int64{4}},
				{`{app="web", level="info"}`, []int64{5, 3}},
				{`{app="web"}`, []int64{2}},
			},
		},
		{
			name: "categorized keeps one stream",
			in: []logql.Stream{{Labels: web, Entries: []logproto.Entry{
				entry(5, "a", "level", "info"), entry(4, "b", "level", "error"),
			}}},
			categorize: true,
			want:       []wantStream{{`{app="web"}`, []int64{5, 4}}},
		},
		{
			name: "metadata overrides a stream label, empty value removes it",
			in: []logql.Stream{{Labels: labels.FromStrings("app", "web", "env", "prod"), Entries: []logproto.Entry{
				entry(3, "a", "env", "dev"), entry(2, "b", "env", ""),
			}}},
			want: []wantStream{{`{app="web", env="dev"}`, []int64{3}}, {`{app="web"}`, []int64{2}}},
		},
		{
			name: "streams that merge are interleaved backward",
			in: []logql.Stream{
				{Labels: web, Entries: []logproto.Entry{entry(9, "a"), entry(5, "b"), entry(1, "c")}},
				{Labels: labels.FromStrings("app", "web", "level", "x"), Entries: []logproto.Entry{entry(8, "d", "level", "")}},
				{Labels: labels.EmptyLabels(), Entries: []logproto.Entry{entry(6, "e", "app", "web"), entry(2, "f", "app", "web")}},
			},
			want: []wantStream{{`{app="web"}`, []int64{9, 8, 6, 5, 2, 1}}},
		},
		{
			name: "streams that merge are interleaved forward",
			in: []logql.Stream{
				{Labels: web, Entries: []logproto.Entry{entry(1, "a"), entry(5, "b")}},
				{Labels: labels.EmptyLabels(), Entries: []logproto.Entry{entry(2, "c", "app", "web"), entry(7, "d", "app", "web")}},
			},
			dir:  logproto.Forward,
			want: []wantStream{{`{app="web"}`, []int64{1, 2, 5, 7}}},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			inCopy := make([]logql.Stream, len(tc.in))
			for i, s := range tc.in {
				inCopy[i] = logql.Stream{Labels: s.Labels, Entries: slices.Clone(s.Entries)}
			}
			got := summarize(buildStreams(tc.in, tc.dir, tc.categorize))
			if !slicesEqualFunc(got, tc.want) {
				t.Errorf("got %v\nwant %v", got, tc.want)
			}
			for i := range tc.in {
				if !slices.EqualFunc(tc.in[i].Entries, inCopy[i].Entries, entryEqual) {
					t.Errorf("engine stream %d was modified", i)
				}
			}
		})
	}
}

func slicesEqualFunc(a, b []wantStream) bool {
	return slices.EqualFunc(a, b, func(x, y wantStream) bool { return x.labels == y.labels && slices.Equal(x.ts, y.ts) })
}

func entryEqual(a, b logproto.Entry) bool {
	return a.Timestamp == b.Timestamp && a.Line == b.Line &&
		slices.Equal(a.StructuredMetadata, b.StructuredMetadata) && slices.Equal(a.Parsed, b.Parsed)
}

func TestCategorizedEntryObject(t *testing.T) {
	e := entry(1, "x")
	e.Parsed = []logproto.LabelAdapter{{Name: "b", Value: "2"}, {Name: "a", Value: "1"}, {Name: "b", Value: "3"}}
	tests := []struct {
		name  string
		entry logproto.Entry
		want  string
	}{
		{"empty", entry(1, "x"), `["1","x",{}]`},
		{"metadata only", entry(1, "x", "trace_id", "t", "level", "info"), `["1","x",{"structuredMetadata":{"level":"info","trace_id":"t"}}]`},
		{"parsed only, sorted, later duplicate wins", e, `["1","x",{"parsed":{"a":"1","b":"3"}}]`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := string(appendStreams(nil, []outStream{{labels: labels.FromStrings("a", "b"), whole: []logproto.Entry{tc.entry}}}, true))
			want := `[{"stream":{"a":"b"},"values":[` + tc.want + `]}]`
			if got != want {
				t.Errorf("got  %s\nwant %s", got, want)
			}
		})
	}
}

func TestQueryResponseEnvelope(t *testing.T) {
	res := logql.Result{Type: logql.ValueVector, Warnings: []string{"w1", `quote"`}}
	got := encode(t, res, logproto.Backward, true)
	if keys := jsonObjectKeyOrder(t, got); !slices.Equal(keys, []string{"status", "warnings", "data"}) {
		t.Errorf("top-level keys %v", keys)
	}
	if !bytes.HasPrefix(got, []byte(`{"status":"success","warnings":["w1","quote\""],"data":{"resultType":"vector","result":[],"stats":{`)) {
		t.Errorf("unexpected envelope %s", truncate(string(got), 200))
	}
	if bytes.Contains(got, []byte("encodingFlags")) {
		t.Error("encodingFlags on a vector result")
	}

	empty := encode(t, logql.Result{Type: logql.ValueStreams}, logproto.Backward, true)
	if !bytes.HasPrefix(empty, []byte(`{"status":"success","data":{"resultType":"streams","encodingFlags":["categorize-labels"],"result":[],"stats":`)) {
		t.Errorf("unexpected empty streams response %s", truncate(string(empty), 200))
	}

	if _, err := appendQueryResponse(nil, &logql.Result{Type: "bogus"}, logproto.Backward, false); err == nil {
		t.Error("unknown result type encoded without error")
	}
}

func TestStatsValues(t *testing.T) {
	st := logql.Stats{
		ExecTimeSeconds: 0.5, TotalBytesProcessed: 1000, TotalLinesProcessed: 10, TotalEntriesReturned: 7,
		PostFilterLines: 8, ChunksRef: 3, ChunksDownloaded: 2, ChunkCompressedBytes: 300, HeadChunkBytes: 40,
		HeadChunkLines: 4, DecompressedBytes: 960, DecompressedLines: 6, StructuredMetaBytes: 12, IngestersReached: 1,
	}
	var got struct {
		Summary  map[string]float64 `json:"summary"`
		Querier  map[string]any     `json:"querier"`
		Ingester struct {
			TotalReached float64                            `json:"totalReached"`
			Store        struct{ Chunk map[string]float64 } `json:"store"`
		} `json:"ingester"`
		Index map[string]any `json:"index"`
	}
	mustUnmarshal(t, appendStats(nil, &st), &got)
	wantSummary := map[string]float64{
		"bytesProcessedPerSecond": 2000, "linesProcessedPerSecond": 20, "totalBytesProcessed": 1000,
		"totalLinesProcessed": 10, "execTime": 0.5, "totalEntriesReturned": 7, "totalPostFilterLines": 8,
		"totalStructuredMetadataBytesProcessed": 12,
	}
	for k, v := range wantSummary {
		if got.Summary[k] != v {
			t.Errorf("summary.%s = %v, want %v", k, got.Summary[k], v)
		}
	}
	store := got.Querier["store"].(map[string]any)
	chunk := store["chunk"].(map[string]any)
	for k, v := range map[string]float64{"decompressedBytes": 960, "decompressedLines": 6, "compressedBytes": 300, "postFilterLines": 8} {
		if chunk[k] != v {
			t.Errorf("querier.store.chunk.%s = %v, want %v", k, chunk[k], v)
		}
	}
	if store["totalChunksRef"] != 3.0 || store["totalChunksDownloaded"] != 2.0 {
		t.Errorf("querier.store chunk counts %v %v", store["totalChunksRef"], store["totalChunksDownloaded"])
	}
	if got.Ingester.TotalReached != 1 || got.Ingester.Store.Chunk["headChunkBytes"] != 40 || got.Ingester.Store.Chunk["headChunkLines"] != 4 {
		t.Errorf("ingester stats %+v", got.Ingester)
	}
	if got.Index["totalChunks"] != 3.0 {
		t.Errorf("index.totalChunks = %v", got.Index["totalChunks"])
	}
}

func TestAppendString(t *testing.T) {
	tests := []struct {
		in         string
		json, html string
	}{
		{"plain", `"plain"`, `"plain"`},
		{`a"b\c`, `"a\"b\\c"`, `"a\"b\\c"`},
		{"tab\tnl\ncr\r", `"tab\tnl\ncr\r"`, `"tab\tnl\ncr\r"`},
		{"\x00\x1f\x7f", `"\u0000\u001f` + "\x7f\"", `"\u0000\u001f` + "\x7f\""},
		{"<a>&", `"<a>&"`, `"\u003ca\u003e\u0026"`},
		{"héllo ☃", `"héllo ☃"`, `"héllo ☃"`},
		{"bad\xffutf8\xc3", `"bad\ufffdutf8\ufffd"`, `"bad\ufffdutf8\ufffd"`},
		{"sep\u2028\u2029", "\"sep\u2028\u2029\"", `"sep\u2028\u2029"`},
	}
	for _, tc := range tests {
		if got := string(appendString(nil, tc.in, false)); got != tc.json {
			t.Errorf("appendString(%q) = %s, want %s", tc.in, got, tc.json)
		}
		if got := string(appendString(nil, tc.in, true)); got != tc.html {
			t.Errorf("appendString(%q, html) = %s, want %s", tc.in, got, tc.html)
		}
	}
}

func TestAppendNumbers(t *testing.T) {
	for _, tc := range []struct {
		ms   int64
		want string
	}{
		{1795448520000, "1795448520"}, {1795449874663, "1795449874.663"}, {1500, "1.5"}, {1050, "1.05"},
		{0, "0"}, {-1500, "-1.5"}, {-1, "-0.001"}, {math.MinInt64, "-9223372036854775.808"}, {math.MaxInt64, "9223372036854775.807"},
	} {
		if got := string(appendUnixMillisAsSeconds(nil, tc.ms)); got != tc.want {
			t.Errorf("appendUnixMillisAsSeconds(%d) = %s, want %s", tc.ms, got, tc.want)
		}
	}
	for _, tc := range []struct {
		v    float64
		want string
	}{
		{2, `"2"`}, {0.1, `"0.1"`}, {1e21, `"1000000000000000000000"`}, {math.NaN(), `"NaN"`},
		{math.Inf(1), `"+Inf"`}, {math.Inf(-1), `"-Inf"`}, {-0.0033333333333333335, `"-0.0033333333333333335"`},
	} {
		if got := string(appendSampleValue(nil, tc.v)); got != tc.want {
			t.Errorf("appendSampleValue(%v) = %s, want %s", tc.v, got, tc.want)
		}
	}
}

func TestMetadataResponses(t *testing.T) {
	if got, want := string(appendLabelsResponse(nil, nil)), string(readSample(t, "errors/label-values-unknown.body")); got != want {
		t.Errorf("no values: %q, Loki %q", got, want)
	}
	if got, want := string(appendLabelsResponse(nil, []string{"app", "job", "level", "service_name"})), string(readSample(t, "labels.json")); got != want {
		t.Errorf("labels: %q, Loki %q", got, want)
	}
	if got, want := string(appendIndexStats(nil, logproto.IndexStats{})), string(readSample(t, "index-stats.json")); got != want {
		t.Errorf("index stats: %q, Loki %q", got, want)
	}
	if got := string(appendSeriesResponse(nil, nil)); got != "{\"status\":\"success\",\"data\":[]}\n" {
		t.Errorf("empty series: %q", got)
	}
	// Loki writes series label maps in random order; ours are sorted, and
	// the content must equal the sample's.
	var sample struct {
		Data []map[string]string `json:"data"`
	}
	mustUnmarshal(t, readSample(t, "series.json"), &sample)
	var in []labels.Labels
	for _, m := range sample.Data {
		in = append(in, labels.FromMap(m))
	}
	got := appendSeriesResponse(nil, in)
	var decoded struct {
		Status string              `json:"status"`
		Data   []map[string]string `json:"data"`
	}
	mustUnmarshal(t, got, &decoded)
	if decoded.Status != "success" || len(decoded.Data) != len(sample.Data) {
		t.Fatalf("series response %s", got)
	}
	for i := range sample.Data {
		if !mapsEqual(decoded.Data[i], sample.Data[i]) {
			t.Errorf("series %d: %v, want %v", i, decoded.Data[i], sample.Data[i])
		}
	}
	if !bytes.Contains(got, []byte(`{"app":"api","job":"smoke","level":"info","service_name":"api"}`)) {
		t.Errorf("series keys not sorted: %s", got)
	}
}

func mapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if bv, ok := b[k]; !ok || bv != v {
			return false
		}
	}
	return true
}
