package main

import (
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestEndToEndBadInput sends the bad requests users send and checks each gets
// a 4xx with a message, while the valid data of a partly bad push is kept.
func TestEndToEndBadInput(t *testing.T) {
	p := start(t, t.TempDir())
	now := time.Now()
	ts := strconv.FormatInt(now.Add(-time.Minute).UnixNano(), 10)

	pushes := []struct {
		name, contentType, body string
		code                    int
		msg                     string
	}{
		{"malformed JSON", "application/json", `{"streams":[`, 400, ""},
		{"numeric timestamp", "application/json", `{"streams":[{"stream":{"job":"e"},"values":[[1795448545000000000,"x"]]}]}`, 400, ""},
		{"invalid label name", "application/json", `{"streams":[{"stream":{"job-x":"e"},"values":[["` + ts + `","x"]]}]}`, 400, "couldn't parse labels"},
		{"malformed protobuf", "application/x-protobuf", "not snappy", 400, "snappy: corrupt input"},
		{"no streams", "application/json", `{"streams":[]}`, 422, "error at least one valid stream is required for ingestion"},
		{"too new", "application/json", `{"streams":[{"stream":{"job":"e"},"values":[["` + strconv.FormatInt(now.Add(time.Hour).UnixNano(), 10) + `","x"]]}]}`, 400, "has timestamp too new"},
	}
	for _, tc := range pushes {
		code, body := p.do(http.MethodPost, "/loki/api/v1/push", tc.contentType, "", []byte(tc.body))
		if code != tc.code || !strings.Contains(string(body), tc.msg) || len(strings.TrimSpace(string(body))) == 0 {
			t.Errorf("%s: %d %q, want %d containing %q", tc.name, code, body, tc.code, tc.msg)
		}
	}

	// A push with one bad and one good stream: 400, and the good line is kept.
	mixed := `{"streams":[{"stream":{"job":"bad"},"values":[["` + strconv.FormatInt(now.Add(-30*24*time.Hour).UnixNano(), 10) + `","old"]]},` +
		`{"stream":{"job":"good"},"values":[["` + ts + `","kept line"]]}]}`
	if code, body := p.do(http.MethodPost, "/loki/api/v1/push", "application/json", "", []byte(mixed)); code != 400 || !strings.Contains(string(body), "has timestamp too old") {
		t.Errorf("mixed push: %d %s", code, body)
	}
	got := queryAll(t, p, `{job="good"}`, now.Add(-time.Hour).UnixNano(), now.Add(time.Minute).UnixNano(), "forward")
	if len(got) != 1 || got[0].text != "kept line" {
		t.Errorf("valid part of a partly bad push: %+v", got)
	}

	queries := []struct {
		name   string
		params url.Values
		msg    string
	}{
		{"empty selector", url.Values{"query": {`{}`}}, "queries require at least one regexp or equality matcher"},
		{"empty-compatible matcher", url.Values{"query": {`{job=~".*"}`}}, "queries require at least one regexp or equality matcher"},
		{"syntax error", url.Values{"query": {`{job="smoke"`}}, "parse error at line 1, col 13"},
		{"bad time", url.Values{"query": {`{job="good"}`}, "start": {"yesterday"}}, ""},
		{"bad direction", url.Values{"query": {`{job="good"}`}, "direction": {"sideways"}}, "invalid direction 'sideways'"},
		{"end before start", url.Values{"query": {`{job="good"}`}, "start": {"200"}, "end": {"100"}}, "end timestamp must not be before or equal to start time"},
		{"limit too big", url.Values{"query": {`{job="good"}`}, "limit": {"100000"}}, "max entries limit per query exceeded"},
	}
	for _, tc := range queries {
		code, body := p.get("/loki/api/v1/query_range", tc.params)
		if code != 400 || !strings.Contains(string(body), tc.msg) || len(body) == 0 {
			t.Errorf("%s: %d %q, want 400 containing %q", tc.name, code, body, tc.msg)
		}
	}
	if code, body := p.get("/loki/api/v1/query", url.Values{"query": {`{job="good"}`}}); code != 400 || !strings.Contains(string(body), "log queries are not supported as an instant query type") {
		t.Errorf("log query as instant query: %d %s", code, body)
	}
	if code, _ := p.do(http.MethodGet, "/loki/api/v1/push", "", "", nil); code != http.StatusMethodNotAllowed {
		t.Errorf("GET push: %d, want 405", code)
	}
	if code, body := p.get("/no/such/path", nil); code != 404 || string(body) != "404 page not found\n" {
		t.Errorf("unknown path: %d %q", code, body)
	}
}

// TestEndToEndTenants runs with auth on: the header is required and tenants
// never see each other's data.
func TestEndToEndTenants(t *testing.T) {
	p := start(t, t.TempDir(), "-auth.enabled=true")
	now := time.Now()
	ts := strconv.FormatInt(now.Add(-time.Minute).UnixNano(), 10)
	push := func(tenant, line string) int {
		req, _ := http.NewRequest(http.MethodPost, p.addr+"/loki/api/v1/push", strings.NewReader(`{"streams":[{"stream":{"job":"shared"},"values":[["`+ts+`","`+line+`"]]}]}`))
		req.Header.Set("Content-Type", "application/json")
		if tenant != "" {
			req.Header.Set("X-Scope-OrgID", tenant)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := push("", "x"); code != 401 {
		t.Errorf("push without tenant: %d, want 401", code)
	}
	if push("team-a", "secret of a") != 204 || push("team-b", "secret of b") != 204 {
		t.Fatal("tenant pushes failed")
	}
	for tenant, want := range map[string]string{"team-a": "secret of a", "team-b": "secret of b"} {
		req, _ := http.NewRequest(http.MethodGet, p.addr+"/loki/api/v1/query_range?"+url.Values{"query": {`{job="shared"}`}}.Encode(), nil)
		req.Header.Set("X-Scope-OrgID", tenant)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if !strings.Contains(string(b), want) || strings.Count(string(b), "secret of") != 1 {
			t.Errorf("tenant %s sees %s", tenant, b)
		}
	}
	code, body := p.get("/loki/api/v1/labels", nil)
	if code != 401 || !strings.Contains(string(body), "no org id") {
		t.Errorf("labels without tenant: %d %s", code, body)
	}
}
