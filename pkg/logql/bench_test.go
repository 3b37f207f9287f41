package logql

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/skald-logs/skald/pkg/logproto"
)

// benchData is 1M entries of real Apache access-log lines in 10 streams,
// one entry every 3.6 ms of each stream over one hour.
var benchData = sync.OnceValues(func() ([]memStream, error) {
	f, err := os.Open("testdata/elastic/apache_logs_2k")
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var lines []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		lines = append(lines, sc.Text())
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	const streams, perStream = 10, 100_000
	step := int64(time.Hour) / perStream
	out := make([]memStream, streams)
	for s := range out {
		out[s].lbls = labels.FromStrings("app", "apache", "pod", fmt.Sprint(s))
		es := make([]logproto.Entry, perStream)
		for i := range es {
			es[i] = logproto.Entry{Timestamp: benchStart + int64(i)*step + int64(s), Line: lines[(i*streams+s)%len(lines)]}
		}
		out[s].entries = es
	}
	return out, nil
})

const benchStart = int64(1_700_000_000) * int64(time.Second)

func benchQuery(b *testing.B, query string, logsPath bool) {
	data, err := benchData()
	if err != nil {
		b.Fatal(err)
	}
	var bytes int64
	for _, s := range data {
		for _, e := range s.entries {
			bytes += int64(len(e.Line))
		}
	}
	var q Querier = &memQuerier{streams: data}
	if logsPath {
		q = logsOnly{q.(*memQuerier)}
	}
	e := newTestEngine(q, 500)
	// One hour, a point a minute, one-minute windows: every entry is
	// counted once.
	p := Params{Query: query, Start: benchStart + int64(time.Minute), End: benchStart + int64(time.Hour), Step: int64(time.Minute), Limit: 100}
	b.ReportAllocs()
	b.SetBytes(bytes)
	for b.Loop() {
		res, err := e.Query(context.Background(), "t", p)
		if err != nil {
			b.Fatal(err)
		}
		if len(res.Matrix) == 0 || res.Stats.TotalLinesProcessed < 900_000 {
			b.Fatalf("%d series, %d lines", len(res.Matrix), res.Stats.TotalLinesProcessed)
		}
	}
}

// BenchmarkCountOverTime counts 1M entries held in memory, extracted where
// they are (SelectSamples).
func BenchmarkCountOverTime(b *testing.B) {
	benchQuery(b, `count_over_time({app="apache"}[1m])`, false)
}

// BenchmarkCountOverTimeFromLogs is the same query answered from
// SelectLogs: every line is copied into an entry first.
func BenchmarkCountOverTimeFromLogs(b *testing.B) {
	benchQuery(b, `count_over_time({app="apache"}[1m])`, true)
}

// BenchmarkSumByRate is sum by (pod) (rate(…)): the grouping is pushed
// into the extractor.
func BenchmarkSumByRate(b *testing.B) {
	benchQuery(b, `sum by (pod) (rate({app="apache"}[1m]))`, false)
}

// BenchmarkSumByStatusPattern parses every line with pattern and groups by
// a parsed label.
func BenchmarkSumByStatusPattern(b *testing.B) {
	benchQuery(b, `sum by (status) (count_over_time({app="apache"} | pattern "<_> - - <_> \"<_> <_> <_>\" <status> <_>" [1m]))`, false)
}

// BenchmarkQuantileUnwrap unwraps the response size of every line.
func BenchmarkQuantileUnwrap(b *testing.B) {
	benchQuery(b, `quantile_over_time(0.99, {app="apache"} | pattern "<_> - - <_> \"<_> <_> <_>\" <_> <size> <_>" | unwrap size | __error__="" [1m]) by (pod)`, false)
}

// BenchmarkTopKSumByRate is topk over a sum pushed into the extractor,
// with windows five steps long.
func BenchmarkTopKSumByRate(b *testing.B) {
	benchQuery(b, `topk(3, sum by (pod) (rate({app="apache"}[5m])))`, false)
}

// BenchmarkMaxUnwrapByApp unwraps the response size into one series fed
// by every stream, whose samples must be merged by time.
func BenchmarkMaxUnwrapByApp(b *testing.B) {
	benchQuery(b, `max_over_time({app="apache"} | pattern "<_> - - <_> \"<_> <_> <_>\" <_> <size> <_>" | unwrap size | __error__="" [1m]) by (app)`, false)
}
