package api

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/golang/snappy"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/skald-logs/skald/pkg/logproto"
	"github.com/skald-logs/skald/pkg/logproto/pb"
	"github.com/skald-logs/skald/pkg/logql/syntax"
)

// The push routes wired to logproto's real decoders: every encoding a
// shipper sends reaches the Pusher intact.
func TestPushWithLokiDecoders(t *testing.T) {
	pbBody, err := proto.Marshal(&pb.PushRequest{Streams: []*pb.StreamAdapter{{
		Labels: `{app="web", env="prod"}`,
		Entries: []*pb.EntryAdapter{
			{Timestamp: timestamppb.New(time.Unix(1795448466, 5)), Line: "GET / 200"},
			{Timestamp: timestamppb.New(time.Unix(1795448467, 0)), Line: "GET /x 500",
				StructuredMetadata: []*pb.LabelPairAdapter{{Name: "trace_id", Value: "abc"}}},
		},
	}}})
	if err != nil {
		t.Fatal(err)
	}
	protoWant := `{app="web", env="prod"} 1795448466000000005 "GET / 200" []; 1795448467000000000 "GET /x 500" [trace_id=abc]`
	jsonSample := string(readSample(t, "push-body.json"))

	tests := []struct {
		name    string
		path    string
		body    string
		headers []string
		want    string // summary of the pushed streams
	}{
		{"protobuf (Promtail, Alloy)", "/loki/api/v1/push", string(snappy.Encode(nil, pbBody)),
			[]string{"Content-Type: application/x-protobuf"}, protoWant},
		{"gzip protobuf", "/loki/api/v1/push", gzipped(t, string(snappy.Encode(nil, pbBody))),
			[]string{"Content-Type: application/x-protobuf", "Content-Encoding: gzip"}, protoWant},
		{"legacy path protobuf", "/api/prom/push", string(snappy.Encode(nil, pbBody)),
			[]string{"Content-Type: application/x-protobuf"}, protoWant},
		{"json (Fluent Bit), Loki sample", "/loki/api/v1/push", jsonSample, []string{"Content-Type: application/json"},
			`{app="api", job="smoke", level="info"} 1795448466000000000 "GET /users 200 12ms" []; 1795448476000000000 "GET /orders 200 8ms" []; ` +
				`1795448486000000000 "POST /orders 201 30ms" [trace_id=abc123 user=u1] | ` +
				`{app="api", job="smoke", level="error"} 1795448471000000000 "GET /users 500 db timeout" []; 1795448491000000000 "POST /orders 503 upstream down" [] | ` +
				`{app="worker", job="smoke"} 1795448481000000000 "{\"msg\":\"job done\",\"dur_ms\":120,\"status\":\"ok\"}" []; ` +
				`1795448484000000000 "{\"msg\":\"job failed\",\"dur_ms\":340,\"status\":\"err\"}" []`},
		{"gzip json", "/loki/api/v1/push", gzipped(t, `{"streams":[{"stream":{"job":"gz"},"values":[["1795448545000000000","gzipped line"]]}]}`),
			[]string{"Content-Type: application/json", "Content-Encoding: gzip"}, `{job="gz"} 1795448545000000000 "gzipped line" []`},
		{"legacy json", "/api/prom/push", `{"streams":[{"labels":"{job=\"old\"}","entries":[{"ts":"2026-11-23T15:41:36Z","line":"hi"}]}]}`,
			[]string{"Content-Type: application/json"}, `{job="old"} 1795448496000000000 "hi" []`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, nil)
			w := f.request(http.MethodPost, tc.path, strings.NewReader(tc.body), tc.headers...)
			if w.Code != http.StatusNoContent {
				t.Fatalf("status %d %q", w.Code, w.Body.String())
			}
			if got := summarizePush(f.pusher.reqs[0]); got != tc.want {
				t.Errorf("pushed\n%s\nwant\n%s", got, tc.want)
			}
		})
	}
}

func summarizePush(req logproto.PushRequest) string {
	var streams []string
	for _, s := range req.Streams {
		var entries []string
		for _, e := range s.Entries {
			var sm []string
			for _, l := range e.StructuredMetadata {
				sm = append(sm, l.Name+"="+l.Value)
			}
			entries = append(entries, fmt.Sprintf("%d %q [%s]", e.Timestamp, e.Line, strings.Join(sm, " ")))
		}
		streams = append(streams, s.Labels+" "+strings.Join(entries, "; "))
	}
	return strings.Join(streams, " | ")
}

// Bodies the real decoders refuse are 400s with their message, never
// reaching the Pusher; the snappy error is Loki's text.
func TestPushRefusedByLokiDecoders(t *testing.T) {
	for _, tc := range []struct {
		name, body, contentType, want string
	}{
		{"json sent as protobuf", `{"streams":[]}`, "text/plain", sampleRaw(t, "push-text-plain")},
		{"numeric timestamp", `{"streams":[{"stream":{"job":"e"},"values":[[1795448545000000000,"x"]]}]}`, "application/json", ""},
		{"truncated json", `{"streams":[`, "application/json", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, nil)
			w := f.request(http.MethodPost, "/loki/api/v1/push", strings.NewReader(tc.body), "Content-Type: "+tc.contentType)
			if w.Code != http.StatusBadRequest || !strings.HasSuffix(w.Body.String(), "\n") || len(w.Body.String()) < 2 {
				t.Fatalf("got %d %q", w.Code, w.Body.String())
			}
			if tc.want != "" && w.Body.String() != tc.want {
				t.Errorf("body %q, Loki %q", w.Body.String(), tc.want)
			}
			if len(f.pusher.reqs) != 0 {
				t.Error("refused push reached the pusher")
			}
		})
	}
}

// A LogQL parse error from the engine is the client's fault: 400 with the
// parser's text.
func TestParseErrorIs400(t *testing.T) {
	_, perr := syntax.ParseExpr(`{job="smoke"`)
	if perr == nil {
		t.Fatal("no parse error")
	}
	f := newFixture(t, nil)
	f.engine.err = fmt.Errorf("compiling query: %w", perr)
	w := f.request(http.MethodGet, "/loki/api/v1/query_range?query=%7Bjob%3D%22smoke%22", nil)
	if w.Code != http.StatusBadRequest || w.Body.String() != "compiling query: "+perr.Error() {
		t.Errorf("got %d %q", w.Code, w.Body.String())
	}
}
