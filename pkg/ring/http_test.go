package ring

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"
)

func statusRing(t *testing.T) *Ring {
	a := inst("ing-a", "z1", 1<<30)
	a.HTTPAddr = "ing-a:3100"
	b := stale(inst("ing-b", "z2", 2<<30, 3<<30))
	c := withState(inst("ing-c", "z1"), Joining)
	gone := inst("ing-gone", "", 5)
	d := descOf(a, b, c, gone)
	d.Remove("ing-gone", testNow)
	return testRing(t, defaultConfig(), d)
}

func serve(r *Ring, method, target string, body url.Values, accept string) *httptest.ResponseRecorder {
	var req *http.Request
	if body != nil {
		req = httptest.NewRequest(method, target, strings.NewReader(body.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	} else {
		req = httptest.NewRequest(method, target, nil)
	}
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	w := httptest.NewRecorder()
	r.ServeHTTP(w, req)
	return w
}

func TestRingPageJSON(t *testing.T) {
	r := statusRing(t)
	w := serve(r, http.MethodGet, "/ring", nil, "application/json, text/plain")
	if w.Code != http.StatusOK || w.Header().Get("Content-Type") != "application/json" {
		t.Fatalf("status %d, content type %q", w.Code, w.Header().Get("Content-Type"))
	}

	// The keys are Loki's (dskit ring/http.go), plus http_address when known.
	var raw struct {
		Shards []map[string]json.RawMessage `json:"shards"`
		Now    time.Time                    `json:"now"`
	}
	if err := json.Unmarshal(w.Body.Bytes(), &raw); err != nil {
		t.Fatal(err)
	}
	if !raw.Now.Equal(testNow) {
		t.Fatalf("now %v", raw.Now)
	}
	lokiKeys := []string{"address", "id", "registered_timestamp", "state", "timestamp", "tokens", "zone"}
	for i, s := range raw.Shards {
		var keys []string
		for k := range s {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		want := lokiKeys
		if i == 0 {
			want = []string{"address", "http_address", "id", "registered_timestamp", "state", "timestamp", "tokens", "zone"}
		}
		if !slices.Equal(keys, want) {
			t.Fatalf("shard %d keys %v, want %v", i, keys, want)
		}
	}

	var resp struct {
		Shards []struct {
			ID                  string    `json:"id"`
			State               string    `json:"state"`
			Address             string    `json:"address"`
			HTTPAddress         string    `json:"http_address"`
			Timestamp           time.Time `json:"timestamp"`
			RegisteredTimestamp time.Time `json:"registered_timestamp"`
			Zone                string    `json:"zone"`
			Tokens              []uint32  `json:"tokens"`
		} `json:"shards"`
	}
	if err := json.Unmarshal(w.Body.Bytes(), &resp); err != nil {
		t.Fatal(err)
	}
	if len(resp.Shards) != 3 {
		t.Fatalf("%d shards, want 3 (tombstones are not shown)", len(resp.Shards))
	}
	a, b, c := resp.Shards[0], resp.Shards[1], resp.Shards[2]
	if a.ID != "ing-a" || a.State != "ACTIVE" || a.Address != "ing-a:9095" || a.HTTPAddress != "ing-a:3100" ||
		a.Zone != "z1" || !slices.Equal(a.Tokens, []uint32{1 << 30}) || !a.Timestamp.Equal(testNow) ||
		!a.RegisteredTimestamp.Equal(testNow.Add(-time.Hour)) {
		t.Errorf("ing-a: %+v", a)
	}
	if b.ID != "ing-b" || b.State != "UNHEALTHY" || !b.Timestamp.Equal(testNow.Add(-2*time.Minute)) || len(b.Tokens) != 2 {
		t.Errorf("ing-b: %+v", b)
	}
	if c.ID != "ing-c" || c.State != "JOINING" || c.Tokens == nil || len(c.Tokens) != 0 {
		t.Errorf("ing-c: %+v (tokens must be [] as in Loki)", c)
	}
}

func TestRingPageHTML(t *testing.T) {
	r := statusRing(t)
	w := serve(r, http.MethodGet, "/ring", nil, "text/html")
	body := w.Body.String()
	if w.Code != http.StatusOK || !strings.HasPrefix(w.Header().Get("Content-Type"), "text/html") {
		t.Fatalf("status %d %q", w.Code, w.Header().Get("Content-Type"))
	}
	for _, want := range []string{
		"<td>ing-a</td>", "<td>ing-b</td>", "<td>ing-c</td>", `class="UNHEALTHY">UNHEALTHY`, `class="ACTIVE">ACTIVE`,
		"<td>z2</td>", "<td>ing-a:9095</td>", `href="http://ing-a:3100/"`,
		"<td>50.00%</td>", // ing-a owns [3<<30, 1<<30): half the ring
		"<td>2</td>",      // ing-b's token count
		"(2m0s ago)",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	if strings.Contains(body, "ing-gone") {
		t.Error("page shows a tombstone")
	}
	// Forget is offered for the unhealthy instance only.
	if n := strings.Count(body, `name="forget"`); n != 1 || !strings.Contains(body, `name="forget" value="ing-b"`) {
		t.Errorf("%d forget buttons", n)
	}
	if strings.Contains(body, "Tokens:<br>") {
		t.Error("tokens listed without ?tokens=true")
	}
	body = serve(r, http.MethodGet, "/ring?tokens=true", nil, "").Body.String()
	if !strings.Contains(body, "Tokens:<br>2147483648 3221225472 </p>") {
		t.Error("?tokens=true does not list ing-b's tokens")
	}
}

func TestRingPageForget(t *testing.T) {
	r := statusRing(t)
	w := serve(r, http.MethodPost, "/ring", url.Values{"forget": {"ing-b"}}, "")
	if w.Code != http.StatusFound || w.Header().Get("Location") != "#" {
		t.Fatalf("status %d location %q", w.Code, w.Header().Get("Location"))
	}
	d, _ := r.kv.Get(context.Background(), IngesterRingKey)
	if d.Instances["ing-b"].State != Left {
		t.Fatalf("ing-b not forgotten: %v", d)
	}
	waitFor(t, "the ring to drop ing-b", func() bool { return r.InstancesCount() == 2 })

	// Unknown ids are ignored, as in Loki; a missing one is a bad request.
	if w := serve(r, http.MethodPost, "/ring", url.Values{"forget": {"nobody"}}, ""); w.Code != http.StatusFound {
		t.Fatalf("unknown id: %d", w.Code)
	}
	if w := serve(r, http.MethodPost, "/ring", url.Values{}, ""); w.Code != http.StatusBadRequest {
		t.Fatalf("no id: %d", w.Code)
	}
	if w := serve(r, http.MethodDelete, "/ring", nil, ""); w.Code != http.StatusMethodNotAllowed {
		t.Fatalf("DELETE: %d", w.Code)
	}
}
