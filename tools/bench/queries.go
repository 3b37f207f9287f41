package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/skald-logs/skald/tools/loadgen/loadgen"
)

// query is one query of the fixed set.
type query struct {
	Name   string
	Query  string
	Metric bool // a range query with a step; else a log query with a limit
	// selects tells which streams the selector reads; fullScan says the
	// query reads every line of them (no early stop at the limit), so the
	// raw bytes it scans are known from the workload when the server does
	// not report them.
	selects  func(*loadgen.Stream) bool
	fullScan bool
}

const logLimit = 100

// querySet is the fixed query set of issue 5 over workload w.
func querySet(w *loadgen.Workload) []query {
	all := func(*loadgen.Stream) bool { return true }
	streams := w.Streams()
	narrow := &streams[len(streams)/3]
	return []query{
		{
			Name: "needle", Query: `{env="bench"} |= ` + strconv.Quote(w.Needle()),
			selects: all, fullScan: true,
		},
		{
			Name: "regex", Query: `{env="bench"} |~ "timeout after [5-9][0-9]{3}ms"`,
			selects: all, fullScan: true,
		},
		{
			Name:  "narrow",
			Query: fmt.Sprintf(`{service=%q, instance=%q}`, narrow.Label("service"), narrow.Label("instance")),
			selects: func(s *loadgen.Stream) bool {
				return s.Label("service") == narrow.Label("service") && s.Label("instance") == narrow.Label("instance")
			},
		},
		{
			Name: "count_by", Query: `sum by (service) (count_over_time({env="bench"}[1m]))`, Metric: true,
			selects: all, fullScan: true,
		},
		{
			Name: "json", Query: `{format="json"} | json | status >= 500 | duration_ms >= 5000`,
			selects:  func(s *loadgen.Stream) bool { return s.Label("format") == "json" },
			fullScan: true,
		},
		{
			Name: "topk_rate", Query: `topk(3, sum by (service) (rate({env="bench"}[5m])))`, Metric: true,
			selects: all, fullScan: true,
		},
	}
}

// queryAnswer is what one run of a query returned.
type queryAnswer struct {
	entries, series, points int
	bytesProcessed          int64 // as the server reports it (0: not reported)
}

// queryClient runs queries against a server over the time range of the
// workload.
type queryClient struct {
	addr           string
	start, end     time.Time
	step           time.Duration
	client         *http.Client
	tenant         string
	requestTimeout time.Duration
}

func (c *queryClient) params(q *query) url.Values {
	v := url.Values{
		"query": {q.Query},
		"start": {strconv.FormatInt(c.start.UnixNano(), 10)},
		"end":   {strconv.FormatInt(c.end.UnixNano(), 10)},
	}
	if q.Metric {
		v.Set("step", strconv.FormatFloat(c.step.Seconds(), 'f', -1, 64))
	} else {
		v.Set("limit", strconv.Itoa(logLimit))
	}
	return v
}

// run sends q once.
func (c *queryClient) run(ctx context.Context, q *query) (queryAnswer, error) {
	ctx, cancel := context.WithTimeout(ctx, c.requestTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.addr+"/loki/api/v1/query_range?"+c.params(q).Encode(), nil)
	if err != nil {
		return queryAnswer{}, err
	}
	if c.tenant != "" {
		req.Header.Set("X-Scope-OrgID", c.tenant)
	}
	resp, err := c.client.Do(req)
	if err != nil {
		return queryAnswer{}, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return queryAnswer{}, err
	}
	if resp.StatusCode != http.StatusOK {
		msg := strings.TrimSpace(string(body))
		if len(msg) > 200 {
			msg = msg[:200] + "..."
		}
		return queryAnswer{}, fmt.Errorf("%d: %s", resp.StatusCode, msg)
	}
	return parseAnswer(body)
}

// parseAnswer reads a query_range response body.
func parseAnswer(body []byte) (queryAnswer, error) {
	var r struct {
		Status string `json:"status"`
		Data   struct {
			ResultType string `json:"resultType"`
			Result     []struct {
				Values [][2]json.RawMessage `json:"values"`
			} `json:"result"`
			Stats struct {
				Summary struct {
					TotalBytesProcessed int64 `json:"totalBytesProcessed"`
				} `json:"summary"`
			} `json:"stats"`
		} `json:"data"`
	}
	if err := json.Unmarshal(body, &r); err != nil {
		return queryAnswer{}, fmt.Errorf("malformed response: %w", err)
	}
	if r.Status != "success" {
		return queryAnswer{}, fmt.Errorf("status %q", r.Status)
	}
	a := queryAnswer{series: len(r.Data.Result), bytesProcessed: r.Data.Stats.Summary.TotalBytesProcessed}
	for _, s := range r.Data.Result {
		switch r.Data.ResultType {
		case "streams":
			a.entries += len(s.Values)
		case "matrix":
			a.points += len(s.Values)
		default:
			return a, fmt.Errorf("unexpected result type %q", r.Data.ResultType)
		}
	}
	return a, nil
}

// QueryReport is what the harness measured for one query.
type QueryReport struct {
	Name  string `json:"name"`
	Query string `json:"query"`
	// Error is the failure of the first run that failed ("" when all ran).
	Error string `json:"error,omitempty"`
	Runs  int    `json:"runs"`
	// First is the first run (chunks not yet cached), Median and Min of
	// the runs after it.
	First  time.Duration `json:"first_ns"`
	Median time.Duration `json:"median_ns"`
	Min    time.Duration `json:"min_ns"`
	// CPUSeconds is the server's CPU time per run after the first.
	CPUSeconds float64 `json:"cpu_seconds_per_run"`
	// BytesScanned is the raw log bytes a run reads; BytesSource says where
	// the number comes from: "server" (the response's stats), "workload"
	// (the raw bytes of the streams a full scan reads) or "" (unknown).
	BytesScanned int64  `json:"bytes_scanned"`
	BytesSource  string `json:"bytes_source"`
	// Entries returned by a log query; Series and Points by a metric query.
	Entries int `json:"entries"`
	Series  int `json:"series"`
	Points  int `json:"points"`
}

// BytesPerCPUSecond is the raw bytes scanned per server CPU-second.
func (q *QueryReport) BytesPerCPUSecond() float64 {
	if q.CPUSeconds <= 0 || q.BytesScanned <= 0 {
		return 0
	}
	return float64(q.BytesScanned) / q.CPUSeconds
}

// queryBudget bounds how often a query runs after its first run: at least
// minRuns times, and on until minTime has passed (so that the server's CPU
// time, counted in 10 ms ticks, is measured over many ticks), at most
// maxRuns times.
type queryBudget struct {
	minRuns, maxRuns int
	minTime          time.Duration
}

// measureQuery runs q per the budget and measures it.
func measureQuery(ctx context.Context, c *queryClient, pid int, q *query, b queryBudget) QueryReport {
	rep := QueryReport{Name: q.Name, Query: q.Query}
	began := time.Now()
	a, err := c.run(ctx, q)
	rep.First = time.Since(began)
	if err != nil {
		rep.Error = err.Error()
		return rep
	}
	before, err := readProcStat(pid)
	if err != nil {
		rep.Error = err.Error()
		return rep
	}
	var lat []time.Duration
	loopStart := time.Now()
	for len(lat) < b.maxRuns && (len(lat) < b.minRuns || time.Since(loopStart) < b.minTime) {
		t := time.Now()
		if a, err = c.run(ctx, q); err != nil {
			rep.Error = err.Error()
			return rep
		}
		lat = append(lat, time.Since(t))
	}
	after, err := readProcStat(pid)
	if err != nil {
		rep.Error = err.Error()
		return rep
	}
	rep.Runs = len(lat)
	rep.CPUSeconds = (after.cpuSeconds - before.cpuSeconds) / float64(len(lat))
	slices.Sort(lat)
	rep.Median, rep.Min = lat[len(lat)/2], lat[0]
	rep.Entries, rep.Series, rep.Points = a.entries, a.series, a.points
	if a.bytesProcessed > 0 {
		rep.BytesScanned, rep.BytesSource = a.bytesProcessed, "server"
	}
	return rep
}
