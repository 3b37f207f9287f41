package conformance

import (
	"bufio"
	"bytes"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
)

// pushStream is one stream of the corpus as it is pushed.
type pushStream struct {
	labels  map[string]string
	entries []pushEntry
}

type pushEntry struct {
	ts   int64 // Unix ns
	line string
	meta map[string]string // structured metadata
}

// at returns the Unix ns of sec seconds after t0.
func at(sec float64) int64 { return t0*1e9 + int64(math.Round(sec*1e9)) }

func entries(pairs ...any) []pushEntry {
	var out []pushEntry
	for i := 0; i < len(pairs); i += 2 {
		var sec float64
		switch v := pairs[i].(type) {
		case int:
			sec = float64(v)
		case float64:
			sec = v
		}
		out = append(out, pushEntry{ts: at(sec), line: pairs[i+1].(string)})
	}
	return out
}

// handStreams are the small hand-made streams of tenant "conf". The corpus
// files (testdata/corpus) derive their answers from exactly these lines:
// change one and the answers must be worked out again.
func handStreams() []pushStream {
	return []pushStream{
		{map[string]string{"app": "api", "cluster": "eu", "env": "prod"}, entries(
			10, `level=info method=GET path=/users status=200 duration=15ms size=1.2KB msg="list users"`,
			20, `level=error method=POST path=/orders status=500 duration=1.5s size=512B msg="db timeout"`,
			30, `level=warn method=GET path=/orders status=404 duration=120ms size=2KiB msg="not found"`,
			40, `level=info method=GET path=/health status=200 duration=2ms size=64B`,
			50, `level=error method=DELETE path=/users/7 status=503 duration=3s size=1MB msg="upstream unavailable"`,
			60, `level=debug method=GET path=/users status=200 duration=250us size=0B msg=cache`,
		)},
		{map[string]string{"app": "api", "cluster": "us", "env": "dev"}, entries(
			15, `level=info method=GET path=/users status=200 duration=30ms size=3KB`,
			35, `level=error method=PUT path=/users/9 status=502 duration=2s size=100B msg="bad gateway"`,
			55, `level=info method=POST path=/login status=201 duration=80ms size=300B`,
		)},
		{map[string]string{"app": "web", "env": "prod"}, entries(
			12, `{"level":"info","msg":"page view","user":{"id":7,"name":"ann"},"tags":["x","y"],"latency_ms":120,"ok":true}`,
			24, `{"level":"warn","msg":"slow page","user":{"id":8,"name":"bob"},"latency_ms":950.5,"ok":false}`,
			36, `{"level":"error","msg":"render failed","user":{"id":7,"name":"ann"},"error":{"code":"E42","detail":"nil ref"},"latency_ms":30}`,
			48, `{"level":"info","msg":"page view","user":{"id":9,"name":"cid"},"tags":["z"],"latency_ms":45,"ok":true}`,
		)},
		{map[string]string{"app": "ansi"}, entries(
			5, "\x1b[31mERROR\x1b[0m disk full",
			6, "\x1b[1;32mINFO\x1b[0m all good",
			7, "plain WARN line",
		)},
		{map[string]string{"app": "net"}, entries(
			1, `src=10.0.0.5 port=22 proto=ssh`,
			2, `src=192.168.1.20 port=443 proto=https`,
			3, `src=10.1.2.3 port=80 proto=http via=172.16.0.1`,
			4, `src=2001:db8::1 port=22 proto=ssh`,
			5, `src=unknown port=0 proto=none`,
		)},
		{map[string]string{"app": "meta"}, []pushEntry{
			{at(100), `request served`, map[string]string{"trace_id": "abc", "user": "ann"}},
			{at(110), `request failed`, map[string]string{"trace_id": "def", "user": "bob"}},
			{at(120), `request served`, nil},
			{at(130), `level=info code=7`, map[string]string{"trace_id": "ghi"}},
		}},
		{map[string]string{"app": "bad"}, entries(
			200, `{"level":"info","n":1}`,
			210, `not json at all`,
			220, `{"level":"error","n":"x"}`,
			230, `{"level":"warn", broken`,
			240, `a=1 b="unterminated`,
		)},
		{map[string]string{"app": "packed"}, entries(
			300, `{"_entry":"original line one","pod":"p1","container":"c"}`,
			310, `{"_entry":"second line","pod":"p2"}`,
			320, `{"pod":"p3"}`,
		)},
		{map[string]string{"app": "tmpl"}, entries(
			400, `name=alice city="new york" score=7.5 tags=a,b`,
			401, `name=BOB city=paris score=12 tags=`,
		)},
		{map[string]string{"app": "counter", "instance": "i1"}, entries(
			500, `total=10`,
			510, `total=20`,
			520, `total=35`,
			530, `total=5`,
			540, `total=15`,
			550, `total=30`,
		)},
		{map[string]string{"app": "counter", "instance": "i2"}, entries(
			505, `total=100`,
			525, `total=160`,
			545, `total=220`,
		)},
		{map[string]string{"app": "edge"}, entries(
			600, `e0`,
			610, `e1`,
			620, `e2`,
			620.5, `e3`,
			630, `e4`,
			640, `e5`,
			650, `dup`,
			650, `dup`,
			660, `same-a`,
			660, `same-b`,
		)},
		{map[string]string{"app": "clash", "level": "stream"}, entries(
			700, `level=parsed x=1`,
			701, `{"level":"json","app":"inner"}`,
		)},
		{map[string]string{"app": "keys"}, entries(
			800, `{"user-agent":"curl/8","a.b":"c","nested":{"x-y":1,"deep":{"k":"v"}},"list":[1,2],"nil":null,"s":"q\"uote"}`,
		)},
	}
}

// levelStreams are pushed to tenant "levels", which keeps Loki's default of
// discovering log levels: each entry gets detected_level.
func levelStreams() []pushStream {
	return []pushStream{
		{map[string]string{"app": "lv"}, entries(
			900, `level=warn x=1`,
			901, `something error happened`,
			902, `hello world`,
			903, `{"severity":"ERROR","m":1}`,
		)},
		{map[string]string{"app": "lv2", "level": "debug"}, entries(
			905, `anything error`,
		)},
	}
}

// realFile is a file of real logs and the streams its lines are pushed to.
type realFile struct {
	path  string
	first float64 // seconds after t0 of the first line
	every float64 // seconds between lines
	// labels of the stream line i goes to.
	labels func(i int) map[string]string
}

var realFiles = []realFile{
	{"loghub/OpenSSH_500.log", 1000, 1, func(int) map[string]string {
		return map[string]string{"app": "sshd", "host": "LabSZ", "source": "loghub"}
	}},
	{"elastic/apache_logs_600", 1000, 1, func(i int) map[string]string {
		return map[string]string{"app": "httpd", "shard": fmt.Sprint(i % 2), "source": "elastic"}
	}},
	{"loghub/HDFS_300.log", 1000, 2, func(int) map[string]string {
		return map[string]string{"app": "hdfs", "source": "loghub"}
	}},
	{"elastic/nginxplus_json_12", 1000, 50, func(int) map[string]string {
		return map[string]string{"app": "nginx", "source": "elastic"}
	}},
}

// realLine is one line of a real log as pushed.
type realLine struct {
	labels map[string]string
	ts     int64
	line   string
}

// readReal reads a real log file: one entry per line, the \r of CRLF
// endings removed, line i at first + i*every.
func readReal(f realFile) ([]realLine, error) {
	b, err := os.ReadFile(filepath.Join("testdata", f.path))
	if err != nil {
		return nil, err
	}
	var out []realLine
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(nil, 1<<20)
	for i := 0; sc.Scan(); i++ {
		line := strings.TrimSuffix(sc.Text(), "\r")
		out = append(out, realLine{labels: f.labels(i), ts: at(f.first + float64(i)*f.every), line: line})
	}
	return out, sc.Err()
}

// realStreams groups the lines of every real file into push streams.
func realStreams() ([]pushStream, error) {
	var out []pushStream
	for _, f := range realFiles {
		lines, err := readReal(f)
		if err != nil {
			return nil, err
		}
		byKey := map[string]int{}
		for _, l := range lines {
			k := fmt.Sprint(l.labels)
			i, ok := byKey[k]
			if !ok {
				i = len(out)
				byKey[k] = i
				out = append(out, pushStream{labels: l.labels})
			}
			out[i].entries = append(out[i].entries, pushEntry{ts: l.ts, line: l.line})
		}
	}
	return out, nil
}
