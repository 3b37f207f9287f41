package conformance

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strconv"
	"sync"
	"testing"

	"github.com/skald-logs/skald/pkg/api"
	"github.com/skald-logs/skald/pkg/distributor"
	"github.com/skald-logs/skald/pkg/ingester"
	"github.com/skald-logs/skald/pkg/logql"
	"github.com/skald-logs/skald/pkg/objstore/memory"
	"github.com/skald-logs/skald/pkg/querier"
	"github.com/skald-logs/skald/pkg/storage"
	"github.com/skald-logs/skald/pkg/validation"
)

// t0 (2023-11-14T23:00:00Z, a multiple of one hour so that steps align on
// it) is the Unix second every timestamp of the corpus is counted from: the
// hand-made entries sit at t0+offset, and the corpus files and the rendered
// results write times as seconds relative to it.
const t0 = int64(1_700_002_800)

const (
	tenantMain   = "conf"   // level discovery off: results carry no detected_level
	tenantLevels = "levels" // Loki's defaults: detected_level added at ingest
)

// stack is one in-process Skald read and write path behind a real HTTP server.
type stack struct {
	srv *httptest.Server
	ing *ingester.Ingester
}

var (
	stackOnce sync.Once
	theStack  *stack
	stackErr  error
)

// getStack builds the stack and loads the corpus data once per test binary.
func getStack(t testing.TB) *stack {
	t.Helper()
	stackOnce.Do(func() { theStack, stackErr = newStack() })
	if stackErr != nil {
		t.Fatalf("conformance stack: %v", stackErr)
	}
	return theStack
}

func newStack() (*stack, error) {
	logger := slog.New(slog.DiscardHandler)

	var lim validation.Limits
	lim.RegisterFlags(flag.NewFlagSet("", flag.ContinueOnError))
	lim.RejectOldSamples = false // the corpus lives in 2023
	lim.IngestionRateMB, lim.IngestionBurstSizeMB = 64, 64
	levels := lim
	lim.DiscoverLogLevels = false
	overrides := validation.NewOverrides(lim, map[string]*validation.Limits{tenantLevels: &levels})

	var ingCfg ingester.Config
	ingCfg.RegisterFlags(flag.NewFlagSet("", flag.ContinueOnError))
	ingCfg.ID = "conformance"
	ingCfg.WAL.Enabled = false
	ingCfg.MaxUnflushedBytes = 256 << 20
	var storeCfg storage.Config
	storeCfg.RegisterFlags(flag.NewFlagSet("", flag.ContinueOnError))

	store, err := storage.New(storeCfg, memory.New(), ingCfg.ID, logger, nil)
	if err != nil {
		return nil, err
	}
	ing, err := ingester.New(ingCfg, overrides, store, logger, nil)
	if err != nil {
		return nil, err
	}
	if err := ing.Recover(context.Background()); err != nil {
		return nil, err
	}
	dist := distributor.New(overrides, ing, logger, nil)
	// Ask the ingesters whatever the age of the data.
	q := querier.New(querier.Config{QueryIngestersWithin: 0}, ing, store, store)
	engine := logql.NewEngine(q, overrides, logger)

	apiCfg := api.DefaultConfig()
	apiCfg.AuthEnabled = true
	apiCfg.CompressResponses = false
	handler := api.New(apiCfg, api.Deps{Pusher: dist, Engine: engine, Metadata: q, Flusher: ing}, logger, nil, nil).Handler()
	s := &stack{srv: httptest.NewServer(handler), ing: ing}
	if err := s.load(); err != nil {
		s.srv.Close()
		return nil, err
	}
	return s, nil
}

// load pushes the corpus data: the hand-made streams first, flushed to the
// store, then the real logs, which stay in the ingester. Queries so read both
// sources.
func (s *stack) load() error {
	if err := s.push(tenantMain, handStreams()); err != nil {
		return err
	}
	if err := s.push(tenantLevels, levelStreams()); err != nil {
		return err
	}
	if err := s.ing.Flush(context.Background()); err != nil {
		return fmt.Errorf("flush: %w", err)
	}
	real, err := realStreams()
	if err != nil {
		return err
	}
	return s.push(tenantMain, real)
}

// push sends streams through POST /loki/api/v1/push as Loki's JSON body.
func (s *stack) push(tenant string, streams []pushStream) error {
	type jsonStream struct {
		Stream map[string]string `json:"stream"`
		Values [][]any           `json:"values"`
	}
	var body struct {
		Streams []jsonStream `json:"streams"`
	}
	for _, ps := range streams {
		js := jsonStream{Stream: ps.labels}
		for _, e := range ps.entries {
			v := []any{strconv.FormatInt(e.ts, 10), e.line}
			if len(e.meta) > 0 {
				v = append(v, e.meta)
			}
			js.Values = append(js.Values, v)
		}
		body.Streams = append(body.Streams, js)
	}
	b, err := json.Marshal(body)
	if err != nil {
		return err
	}
	req, err := http.NewRequest(http.MethodPost, s.srv.URL+"/loki/api/v1/push", bytes.NewReader(b))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Scope-OrgID", tenant)
	resp, err := s.srv.Client().Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusNoContent {
		return fmt.Errorf("push: %s: %s", resp.Status, msg)
	}
	return nil
}

// request is one query as a client sends it.
type request struct {
	path       string // default: query_range, or query when instant
	query      string
	instant    bool
	at         float64 // instant: seconds after t0
	start, end float64 // range: seconds after t0
	step       string  // metric range queries: seconds, as sent
	limit      int     // 0: not sent
	direction  string  // "": not sent
	tenant     string  // "": tenantMain
	categorize bool
	params     url.Values // raw parameters, set last (override the above)
}

func relNanos(sec float64) string {
	// Seconds after t0 with at most nanosecond precision, as an integer of
	// nanoseconds: exact for the offsets the corpus uses.
	ns := t0*1e9 + int64(sec*1e9+copySign(0.5, sec))
	return strconv.FormatInt(ns, 10)
}

func copySign(v, sign float64) float64 {
	if sign < 0 {
		return -v
	}
	return v
}

// do runs r and returns the HTTP status and body.
func (s *stack) do(t testing.TB, r request) (int, []byte) {
	t.Helper()
	v := url.Values{}
	path := r.path
	if r.query != "" {
		v.Set("query", r.query)
	}
	if r.instant {
		if path == "" {
			path = "/loki/api/v1/query"
		}
		v.Set("time", relNanos(r.at))
	} else {
		if path == "" {
			path = "/loki/api/v1/query_range"
		}
		v.Set("start", relNanos(r.start))
		v.Set("end", relNanos(r.end))
		if r.step != "" {
			v.Set("step", r.step)
		}
	}
	if r.limit > 0 {
		v.Set("limit", strconv.Itoa(r.limit))
	}
	if r.direction != "" {
		v.Set("direction", r.direction)
	}
	for k, vs := range r.params {
		v[k] = vs
	}
	req, err := http.NewRequest(http.MethodGet, s.srv.URL+path+"?"+v.Encode(), nil)
	if err != nil {
		t.Fatal(err)
	}
	tenant := r.tenant
	if tenant == "" {
		tenant = tenantMain
	}
	req.Header.Set("X-Scope-OrgID", tenant)
	if r.categorize {
		req.Header.Set("X-Loki-Response-Encoding-Flags", "categorize-labels")
	}
	resp, err := s.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, body
}

// run sends r and decodes the answer, checking the envelope rules every
// answer must keep whatever its content (see decodeResponse).
func (s *stack) run(t testing.TB, r request) result {
	t.Helper()
	status, body := s.do(t, r)
	res, err := decodeResponse(status, body, r)
	if err != nil {
		t.Fatalf("query %q: %v\nbody: %.2000s", r.query, err, body)
	}
	return res
}

// TestMain closes the shared stack's server once every test has run.
func TestMain(m *testing.M) {
	code := m.Run()
	if theStack != nil {
		theStack.srv.Close()
	}
	os.Exit(code)
}
