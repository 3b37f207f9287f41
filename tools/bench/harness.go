package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/skald-logs/skald/tools/loadgen/loadgen"
)

// Config of one benchmark run.
type Config struct {
	// Skald is the server binary; empty builds cmd/skald into a
	// temporary directory.
	Skald string
	// DataDir is the server's data directory; empty uses a temporary one,
	// removed afterwards unless Keep.
	DataDir string
	Keep    bool
	// ServerArgs are extra flags for the server.
	ServerArgs []string

	Workload loadgen.WorkloadConfig
	Push     loadgen.RunConfig // URL and Tenant are filled in

	Budget queryBudget
	// ProfileDir, when set, receives CPU profiles of the server from
	// /debug/pprof/profile: one over the ingest (ProfileSeconds long, from
	// its start) and one per query (the query looped for
	// QueryProfileSeconds; none when 0).
	ProfileDir          string
	ProfileSeconds      int
	QueryProfileSeconds int
	// Log receives progress lines.
	Log io.Writer
}

// Report is everything a run measured.
type Report struct {
	Machine string `json:"machine"`
	// Load is the machine's load average (1, 5, 15 min) at the start and
	// the end: other work on the machine skews every number.
	Load     [2]string      `json:"load"`
	Version  string         `json:"version"`
	Workload WorkloadReport `json:"workload"`
	Ingest   IngestReport   `json:"ingest"`
	Memory   MemoryReport   `json:"memory"`
	Disk     diskUsage      `json:"disk"`
	// RawBytes is the size of every line pushed.
	RawBytes  int64         `json:"raw_bytes"`
	Baselines []Baseline    `json:"baselines"`
	Queries   []QueryReport `json:"queries"`
	Profiles  []string      `json:"profiles,omitempty"`
	// Notes are problems met on the way that did not stop the run.
	Notes []string `json:"notes,omitempty"`
}

// WorkloadReport describes the workload and how it was pushed.
type WorkloadReport struct {
	Lines       int64         `json:"lines"`
	Streams     int           `json:"streams"`
	Kind        string        `json:"kind"`
	Span        time.Duration `json:"span_ns"`
	Format      string        `json:"format"`
	Batch       int           `json:"batch"`
	Concurrency int           `json:"concurrency"`
	Rate        float64       `json:"rate"`
}

// IngestReport is the push phase and the flush after it.
type IngestReport struct {
	Lines     int64    `json:"lines"`
	Bytes     int64    `json:"bytes"`
	Pushes    int      `json:"pushes"`
	Failures  int      `json:"failures"`
	Errors    []string `json:"errors,omitempty"`
	Seconds   float64  `json:"seconds"`
	P50Millis float64  `json:"p50_ms"`
	P99Millis float64  `json:"p99_ms"`
	MaxMillis float64  `json:"max_ms"`
	// CPUSeconds is the server's CPU time during the pushes, FlushCPUSeconds
	// during the flush that followed.
	CPUSeconds      float64 `json:"cpu_seconds"`
	FlushSeconds    float64 `json:"flush_seconds"`
	FlushCPUSeconds float64 `json:"flush_cpu_seconds"`
}

// LinesPerSecond is the acknowledged rate.
func (r IngestReport) LinesPerSecond() float64 { return ratio(float64(r.Lines), r.Seconds) }

// LinesPerCPUSecond is lines per server CPU-second of the pushes alone, or
// (withFlush) of the pushes and the flush.
func (r IngestReport) LinesPerCPUSecond(withFlush bool) float64 {
	cpu := r.CPUSeconds
	if withFlush {
		cpu += r.FlushCPUSeconds
	}
	return ratio(float64(r.Lines), cpu)
}

// MemoryReport is the server's resident memory.
type MemoryReport struct {
	// IdleRSS is measured after start, before any push.
	IdleRSS int64 `json:"idle_rss"`
	// PeakIngestRSS is the peak (VmHWM) once the ingest and the flush are
	// done; PeakRSS the peak at the end, queries included; EndRSS the
	// resident set at the end.
	PeakIngestRSS int64 `json:"peak_ingest_rss"`
	PeakRSS       int64 `json:"peak_rss"`
	EndRSS        int64 `json:"end_rss"`
}

func ratio(a, b float64) float64 {
	if b <= 0 {
		return 0
	}
	return a / b
}

func (c *Config) logf(format string, args ...any) {
	if c.Log != nil {
		fmt.Fprintf(c.Log, format+"\n", args...)
	}
}

// Run runs the whole benchmark: start the server, push, flush, query,
// stop, and compute the baselines.
func Run(ctx context.Context, cfg Config) (*Report, error) {
	if _, err := os.Stat("/proc/self/stat"); err != nil {
		return nil, errors.New("the harness reads the server's CPU time and memory from /proc: Linux only")
	}
	if cfg.Budget.minRuns < 1 || cfg.Budget.maxRuns < cfg.Budget.minRuns {
		return nil, errors.New("need 1 <= query runs <= max query runs")
	}
	w, err := loadgen.NewWorkload(cfg.Workload)
	if err != nil {
		return nil, err
	}
	tmp, err := os.MkdirTemp("", "skald-bench-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	bin := cfg.Skald
	if bin == "" {
		cfg.logf("building skald")
		if bin, err = buildSkald(ctx, tmp); err != nil {
			return nil, err
		}
	}
	dataDir := cfg.DataDir
	if dataDir == "" {
		dataDir = filepath.Join(tmp, "data")
		if cfg.Keep {
			if dataDir, err = os.MkdirTemp("", "skald-bench-data-"); err != nil {
				return nil, err
			}
		}
	}
	if cfg.Keep {
		cfg.logf("data directory %s is kept", dataDir)
	}

	srv, err := startServer(ctx, bin, dataDir, cfg.ServerArgs)
	if err != nil {
		return nil, err
	}
	defer srv.kill()
	rep := &Report{Machine: machine(), Version: serverVersion(srv.addr)}
	rep.Load[0] = loadAverage()
	wc := w.Config()
	rep.Workload = WorkloadReport{
		Lines: wc.Lines, Streams: wc.Streams, Kind: wc.Kind.String(), Span: wc.Span,
		Format: cfg.Push.Format.String(), Batch: cfg.Push.BatchSize, Concurrency: cfg.Push.Concurrency, Rate: cfg.Push.Rate,
	}
	if len(wc.Corpus) > 0 {
		rep.Workload.Kind = "corpus"
	}
	if err := ingest(ctx, &cfg, srv, w, rep); err != nil {
		return rep, err
	}
	if rep.Disk, err = measureDisk(dataDir); err != nil {
		return rep, fmt.Errorf("disk usage: %w", err)
	}
	queries := querySet(w)
	start, end := w.Bounds()
	qc := &queryClient{
		addr: srv.addr, tenant: cfg.Push.Tenant, client: &http.Client{},
		start: time.Unix(0, start).Add(-time.Minute), end: time.Unix(0, end).Add(time.Minute),
		step: time.Minute, requestTimeout: 5 * time.Minute,
	}
	for i := range queries {
		cfg.logf("query %s: %s", queries[i].Name, queries[i].Query)
		rep.Queries = append(rep.Queries, measureQuery(ctx, qc, srv.pid(), &queries[i], cfg.Budget))
		if err := ctx.Err(); err != nil {
			return rep, err
		}
	}
	if cfg.ProfileDir != "" && cfg.QueryProfileSeconds > 0 {
		for i := range queries {
			if rep.Queries[i].Error != "" {
				continue
			}
			path := filepath.Join(cfg.ProfileDir, "query-"+queries[i].Name+".pprof")
			if err := profileWhile(ctx, srv.addr, path, cfg.QueryProfileSeconds, func(stop <-chan struct{}) {
				for {
					select {
					case <-stop:
						return
					default:
					}
					if _, err := qc.run(ctx, &queries[i]); err != nil {
						return
					}
				}
			}); err != nil {
				rep.Notes = append(rep.Notes, err.Error())
			} else {
				rep.Profiles = append(rep.Profiles, path)
			}
		}
	}
	end0, err := readProcStat(srv.pid())
	if err != nil {
		return rep, err
	}
	rep.Memory.PeakRSS, rep.Memory.EndRSS = end0.hwm, end0.rss
	rep.Load[1] = loadAverage()
	cfg.logf("stopping skald")
	if err := srv.stop(); err != nil {
		return rep, err
	}

	cfg.logf("compressing the raw lines with the baseline codecs")
	perStream, baselines, err := rawStats(w)
	if err != nil {
		return rep, err
	}
	rep.Baselines = baselines
	for _, b := range perStream {
		rep.RawBytes += b
	}
	for i := range rep.Queries {
		q := &rep.Queries[i]
		if q.BytesSource != "" || !queries[i].fullScan {
			continue
		}
		for s := range w.Streams() {
			if queries[i].selects(&w.Streams()[s]) {
				q.BytesScanned += perStream[s]
			}
		}
		q.BytesSource = "workload"
	}
	return rep, nil
}

// ingest pushes the workload, flushes, and fills the ingest and memory
// parts of rep.
func ingest(ctx context.Context, cfg *Config, srv *server, w *loadgen.Workload, rep *Report) error {
	// Let the process settle before taking its idle size.
	time.Sleep(500 * time.Millisecond)
	idle, err := readProcStat(srv.pid())
	if err != nil {
		return err
	}
	rep.Memory.IdleRSS = idle.rss

	var profDone chan error
	profPath := ""
	if cfg.ProfileDir != "" {
		profPath = filepath.Join(cfg.ProfileDir, "ingest.pprof")
		profDone = make(chan error, 1)
		go func() { profDone <- fetchProfile(ctx, srv.addr, profPath, cfg.ProfileSeconds) }()
	}

	push := cfg.Push
	push.URL = srv.addr + "/loki/api/v1/push"
	cfg.logf("pushing %d lines over %d streams", w.Config().Lines, len(w.Streams()))
	res, err := loadgen.Run(ctx, push, w)
	if err != nil {
		return err
	}
	afterPush, err := readProcStat(srv.pid())
	if err != nil {
		return err
	}
	if cfg.ProfileDir != "" {
		// What the ingester holds once everything is pushed.
		path := filepath.Join(cfg.ProfileDir, "heap-ingest.pprof")
		if err := fetch(ctx, srv.addr+"/debug/pprof/heap?gc=1", path, time.Minute); err != nil {
			rep.Notes = append(rep.Notes, err.Error())
		} else {
			rep.Profiles = append(rep.Profiles, path)
		}
	}
	rep.Ingest = IngestReport{
		Lines: res.Lines, Bytes: res.Bytes, Pushes: res.Pushes, Failures: res.Failures, Errors: res.Errors,
		Seconds:    res.Elapsed.Seconds(),
		P50Millis:  ms(res.Percentile(50)),
		P99Millis:  ms(res.Percentile(99)),
		MaxMillis:  ms(res.Max()),
		CPUSeconds: afterPush.cpuSeconds - idle.cpuSeconds,
	}

	cfg.logf("flushing")
	began := time.Now()
	// The second flush drops the chunks the first one wrote from the
	// ingester's memory (the retain period is 0).
	for range 2 {
		if err := srv.flush(ctx); err != nil {
			return err
		}
	}
	rep.Ingest.FlushSeconds = time.Since(began).Seconds()
	afterFlush, err := readProcStat(srv.pid())
	if err != nil {
		return err
	}
	rep.Ingest.FlushCPUSeconds = afterFlush.cpuSeconds - afterPush.cpuSeconds
	rep.Memory.PeakIngestRSS = afterFlush.hwm
	if profDone != nil {
		if err := <-profDone; err != nil {
			rep.Notes = append(rep.Notes, err.Error())
		} else {
			rep.Profiles = append(rep.Profiles, profPath)
		}
	}
	return nil
}

func ms(d time.Duration) float64 { return float64(d) / 1e6 }

// fetchProfile saves a CPU profile of the server over the next seconds.
func fetchProfile(ctx context.Context, addr, path string, seconds int) error {
	return fetch(ctx, fmt.Sprintf("%s/debug/pprof/profile?seconds=%d", addr, seconds), path, time.Duration(seconds+30)*time.Second)
}

// fetch saves what a GET of url answers (a profile) to path.
func fetch(ctx context.Context, url, path string, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("profile: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return fmt.Errorf("profile: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("profile %s: %s (is /debug/pprof served?)", url, resp.Status)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return os.WriteFile(path, body, 0o644)
}

// profileWhile runs work until a CPU profile of the server over seconds is
// saved to path.
func profileWhile(ctx context.Context, addr, path string, seconds int, work func(stop <-chan struct{})) error {
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		work(stop)
	}()
	err := fetchProfile(ctx, addr, path, seconds)
	close(stop)
	<-done
	return err
}

// machine describes the machine: OS, architecture, CPUs and CPU model.
func machine() string {
	model := ""
	if data, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(data), "\n") {
			if name, value, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(name) == "model name" {
				model = strings.TrimSpace(value)
				break
			}
		}
	}
	return fmt.Sprintf("%s/%s, %d CPUs (%s), %s", runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), model, runtime.Version())
}

// loadAverage is the first three fields of /proc/loadavg.
func loadAverage() string {
	data, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(data))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ")
}

// serverVersion reads the server's build info.
func serverVersion(addr string) string {
	resp, err := http.Get(addr + "/loki/api/v1/status/buildinfo")
	if err != nil {
		return "unknown"
	}
	defer resp.Body.Close()
	var b struct {
		Version, Revision string
	}
	if err := json.NewDecoder(resp.Body).Decode(&b); err != nil {
		return "unknown"
	}
	return b.Version + " (" + b.Revision + ")"
}
