package loadgen

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// RunConfig says how to push a workload.
type RunConfig struct {
	// URL is the push endpoint, e.g. http://localhost:3100/loki/api/v1/push.
	URL string
	// Tenant is sent as X-Scope-OrgID when not empty.
	Tenant string
	Format Format
	// Concurrency is the number of senders; each owns the streams s with
	// s mod Concurrency == its number and sends one push at a time.
	Concurrency int
	// BatchSize is the number of lines per push.
	BatchSize int
	// Rate is the offered load in lines per second over all senders; 0
	// pushes as fast as the server acknowledges.
	Rate float64
	// Timeout of one push.
	Timeout time.Duration
	// Client sends the pushes; nil uses a client with Concurrency
	// keep-alive connections.
	Client *http.Client
}

// DefaultRunConfig is the push side of the benchmark workload: 1,000-line
// snappy protobuf batches from 2 senders.
func DefaultRunConfig(url string) RunConfig {
	return RunConfig{URL: url, Format: FormatProtobuf, Concurrency: 2, BatchSize: 1000, Timeout: 30 * time.Second}
}

// Result is what a run measured.
type Result struct {
	// Lines and Bytes (raw line bytes) the server acknowledged.
	Lines, Bytes int64
	// Pushes sent and failed (an error or a status other than 2xx); the
	// lines of a failed push are not counted above.
	Pushes, Failures int
	// Errors are the first few failures' messages.
	Errors []string
	// WireBytes is the size of the bodies sent, as sent.
	WireBytes int64
	// Elapsed is the time from the first push to the last answer.
	Elapsed time.Duration
	// Latencies of every push, sorted.
	Latencies []time.Duration
}

// LinesPerSecond is the acknowledged line rate.
func (r *Result) LinesPerSecond() float64 { return perSecond(float64(r.Lines), r.Elapsed) }

// MBPerSecond is the acknowledged raw bytes per second, in MB (10^6).
func (r *Result) MBPerSecond() float64 { return perSecond(float64(r.Bytes)/1e6, r.Elapsed) }

// Percentile returns the p-th percentile (0 < p <= 100) of the push
// latencies by the nearest-rank method, or 0 without pushes.
func (r *Result) Percentile(p float64) time.Duration {
	if len(r.Latencies) == 0 {
		return 0
	}
	rank := int(p/100*float64(len(r.Latencies))+0.999999) - 1
	return r.Latencies[min(max(rank, 0), len(r.Latencies)-1)]
}

// Max is the slowest push.
func (r *Result) Max() time.Duration { return r.Percentile(100) }

func perSecond(v float64, d time.Duration) float64 {
	if d <= 0 {
		return 0
	}
	return v / d.Seconds()
}

// String is a one-paragraph summary.
func (r *Result) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "pushed %d lines (%.1f MB raw, %.1f MB on the wire) in %d pushes over %.2fs\n",
		r.Lines, float64(r.Bytes)/1e6, float64(r.WireBytes)/1e6, r.Pushes, r.Elapsed.Seconds())
	fmt.Fprintf(&b, "acknowledged: %.0f lines/s, %.2f MB/s\n", r.LinesPerSecond(), r.MBPerSecond())
	fmt.Fprintf(&b, "push latency: p50 %s  p99 %s  max %s\n", fmtDur(r.Percentile(50)), fmtDur(r.Percentile(99)), fmtDur(r.Max()))
	fmt.Fprintf(&b, "failed pushes: %d", r.Failures)
	for _, e := range r.Errors {
		fmt.Fprintf(&b, "\n  %s", e)
	}
	return b.String()
}

func fmtDur(d time.Duration) string {
	return fmt.Sprintf("%.1fms", float64(d)/1e6)
}

const maxErrors = 5

// Run pushes every line of w and returns what the server acknowledged. It
// returns an error only for a configuration that cannot run or when ctx
// ends; failed pushes are counted in the result.
func Run(ctx context.Context, cfg RunConfig, w *Workload) (*Result, error) {
	if cfg.Concurrency <= 0 || cfg.BatchSize <= 0 || cfg.Rate < 0 || cfg.URL == "" {
		return nil, fmt.Errorf("%w: need a URL, positive concurrency and batch size, and a rate >= 0", ErrConfig)
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 30 * time.Second
	}
	client := cfg.Client
	if client == nil {
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.MaxIdleConnsPerHost = cfg.Concurrency
		tr.DisableCompression = true
		client = &http.Client{Transport: tr}
		defer tr.CloseIdleConnections()
	}
	senders := min(cfg.Concurrency, len(w.streams))
	r := &run{cfg: cfg, w: w, client: client, start: time.Now()}
	results := make([]senderResult, senders)
	var wg sync.WaitGroup
	for i := range senders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r.sender(ctx, i, senders, &results[i])
		}()
	}
	wg.Wait()
	res := &Result{Elapsed: time.Since(r.start)}
	for _, s := range results {
		res.Lines += s.lines
		res.Bytes += s.bytes
		res.WireBytes += s.wire
		res.Pushes += s.pushes
		res.Failures += s.failures
		res.Latencies = append(res.Latencies, s.latencies...)
		for _, e := range s.errors {
			if len(res.Errors) < maxErrors {
				res.Errors = append(res.Errors, e)
			}
		}
	}
	slices.Sort(res.Latencies)
	if err := ctx.Err(); err != nil {
		return res, err
	}
	return res, nil
}

type run struct {
	cfg      RunConfig
	w        *Workload
	client   *http.Client
	start    time.Time
	reserved atomic.Int64 // lines scheduled so far, for pacing
}

type senderResult struct {
	lines, bytes, wire int64
	pushes, failures   int
	latencies          []time.Duration
	errors             []string
}

// sender pushes the streams i, i+n, i+2n, ... in batches: each batch takes
// up to perStream lines from each of a rotating window of its streams.
func (r *run) sender(ctx context.Context, i, n int, out *senderResult) {
	var cursors []*Cursor
	for s := i; s < len(r.w.streams); s += n {
		cursors = append(cursors, r.w.Cursor(s))
	}
	batch := r.cfg.BatchSize
	perStream := max(1, batch/len(cursors))
	enc := NewEncoder(r.cfg.Format)
	var line []byte
	next := 0 // first cursor of the next batch
	for len(cursors) > 0 {
		if ctx.Err() != nil {
			return
		}
		enc.Reset()
		var lines, raw int64
		used := 0
		for ; used < len(cursors) && lines < int64(batch); used++ {
			c := cursors[(next+used)%len(cursors)]
			if c.Remaining() == 0 {
				continue
			}
			enc.StartStream(c.st)
			for m := 0; m < perStream && lines < int64(batch); m++ {
				var ts int64
				var ok bool
				line, ts, ok = c.Next(line[:0])
				if !ok {
					break
				}
				enc.Append(ts, line)
				lines++
				raw += int64(len(line))
			}
			enc.EndStream()
		}
		next = (next + used) % len(cursors)
		cursors = slices.DeleteFunc(cursors, func(c *Cursor) bool { return c.Remaining() == 0 })
		if lines == 0 {
			continue
		}
		if r.cfg.Rate > 0 {
			due := r.start.Add(time.Duration(float64(r.reserved.Add(lines)-lines) / r.cfg.Rate * 1e9))
			if d := time.Until(due); d > 0 {
				t := time.NewTimer(d)
				select {
				case <-ctx.Done():
					t.Stop()
					return
				case <-t.C:
				}
			}
		}
		body := enc.Body()
		began := time.Now()
		err := r.push(ctx, body)
		out.latencies = append(out.latencies, time.Since(began))
		out.pushes++
		out.wire += int64(len(body))
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			out.failures++
			if len(out.errors) < maxErrors {
				out.errors = append(out.errors, err.Error())
			}
			continue
		}
		out.lines += lines
		out.bytes += raw
	}
}

// push sends one body. It returns once the transport has closed the body
// (which it may do after the response arrived), so the caller may reuse it.
func (r *run) push(ctx context.Context, body []byte) error {
	ctx, cancel := context.WithTimeout(ctx, r.cfg.Timeout)
	defer cancel()
	rc := &bodyReader{Reader: bytes.NewReader(body), closed: make(chan struct{})}
	defer rc.wait()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, r.cfg.URL, rc)
	if err != nil {
		rc.Close()
		return err
	}
	req.ContentLength = int64(len(body))
	req.Header.Set("Content-Type", r.cfg.Format.ContentType())
	if r.cfg.Tenant != "" {
		req.Header.Set("X-Scope-OrgID", r.cfg.Tenant)
	}
	resp, err := r.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 == 2 {
		_, _ = io.Copy(io.Discard, resp.Body)
		return nil
	}
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	return fmt.Errorf("push: %s: %s", resp.Status, strings.TrimSpace(string(msg)))
}

// bodyReader tells when the transport has closed a request body.
type bodyReader struct {
	*bytes.Reader
	once   sync.Once
	closed chan struct{}
}

func (b *bodyReader) Close() error {
	b.once.Do(func() { close(b.closed) })
	return nil
}

func (b *bodyReader) wait() { <-b.closed }
