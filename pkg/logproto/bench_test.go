package logproto

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"sync"
	"testing"

	"github.com/golang/snappy"
)

// lineLen is the length of the log lines in benchmark batches.
const lineLen = 190

// apacheLines returns the lines of testdata/apache_logs_1200 cut or
// extended (with the following lines) to exactly lineLen bytes.
var apacheLines = sync.OnceValues(func() ([]string, error) {
	b, err := os.ReadFile("testdata/apache_logs_1200")
	if err != nil {
		return nil, err
	}
	raw := bytes.Split(bytes.TrimSpace(b), []byte("\n"))
	out := make([]string, len(raw))
	for i := range raw {
		var line []byte
		for j := i; len(line) < lineLen; j = (j + 1) % len(raw) {
			if len(line) > 0 {
				line = append(line, ' ')
			}
			line = append(line, raw[j]...)
		}
		out[i] = string(line[:lineLen])
	}
	return out, nil
})

// benchRequest builds a push of real Apache access-log lines: streams
// streams of perStream entries one second apart, with Kubernetes-like
// labels.
func benchRequest(tb testing.TB, streams, perStream int) *PushRequest {
	lines, err := apacheLines()
	if err != nil {
		tb.Fatal(err)
	}
	req := &PushRequest{}
	n := 0
	for s := 0; s < streams; s++ {
		st := Stream{Labels: fmt.Sprintf(`{app="apache", cluster="eu-west-1", namespace="web", pod="apache-%d"}`, s)}
		for e := 0; e < perStream; e++ {
			st.Entries = append(st.Entries, Entry{
				Timestamp: 1795448466000000000 + int64(n)*1e9,
				Line:      lines[n%len(lines)],
			})
			n++
		}
		req.Streams = append(req.Streams, st)
	}
	return req
}

// encodeJSON writes a request as a JSON push body, the way shippers do.
func encodeJSON(tb testing.TB, req *PushRequest) []byte {
	type stream struct {
		Stream map[string]string `json:"stream"`
		Values [][]any           `json:"values"`
	}
	var body struct {
		Streams []stream `json:"streams"`
	}
	for _, s := range req.Streams {
		ls, err := ParseLabels(s.Labels)
		if err != nil {
			tb.Fatal(err)
		}
		st := stream{Stream: ls.Map()}
		for _, e := range s.Entries {
			v := []any{strconv.FormatInt(e.Timestamp, 10), e.Line}
			if len(e.StructuredMetadata) > 0 {
				m := map[string]string{}
				for _, l := range e.StructuredMetadata {
					m[l.Name] = l.Value
				}
				v = append(v, m)
			}
			st.Values = append(st.Values, v)
		}
		body.Streams = append(body.Streams, st)
	}
	b, err := json.Marshal(body)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

func TestBenchRequest(t *testing.T) {
	req := benchRequest(t, 20, 50)
	if len(req.Streams) != 20 || len(req.Streams[19].Entries) != 50 || len(req.Streams[7].Entries[3].Line) != lineLen {
		t.Fatal("bad benchmark batch")
	}
	// The JSON encoding of the batch decodes to the batch.
	var got PushRequest
	if err := UnmarshalJSONPushRequest(encodeJSON(t, req), &got); err != nil {
		t.Fatal(err)
	}
	if d := diffRequests(&got, req); d != "" {
		t.Fatal(d)
	}
}

// The benchmarks decode a batch of 1000 entries of 190-byte lines over 20
// streams, Promtail's usual shape, with and without a reused request.
func BenchmarkUnmarshalPushRequest(b *testing.B) {
	data := marshalPB(b, toPB(benchRequest(b, 20, 50)))
	b.Run("new", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(data)))
		for b.Loop() {
			var req PushRequest
			if err := UnmarshalPushRequest(data, &req); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("reused", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(data)))
		var req PushRequest
		for b.Loop() {
			if err := UnmarshalPushRequest(data, &req); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkDecodeSnappyPushRequest(b *testing.B) {
	data := snappy.Encode(nil, marshalPB(b, toPB(benchRequest(b, 20, 50))))
	b.ReportAllocs()
	b.SetBytes(int64(len(data)))
	var req PushRequest
	for b.Loop() {
		if err := DecodeSnappyPushRequest(data, &req); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkUnmarshalJSONPushRequest(b *testing.B) {
	data := encodeJSON(b, benchRequest(b, 20, 50))
	b.Run("new", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(data)))
		for b.Loop() {
			var req PushRequest
			if err := UnmarshalJSONPushRequest(data, &req); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("reused", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(data)))
		var req PushRequest
		for b.Loop() {
			if err := UnmarshalJSONPushRequest(data, &req); err != nil {
				b.Fatal(err)
			}
		}
	})
	// For comparison: the fuzz test's reference, encoding/json with a
	// json.RawMessage per value.
	b.Run("encoding_json", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(data)))
		for b.Loop() {
			if _, err := referenceJSON(data); err != nil {
				b.Fatal(err)
			}
		}
	})
}
