package main

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"
)

// The targets of issue 5, printed beside the numbers they judge.
const (
	targetLinesPerCPUSecond = 250_000
	targetP99               = 100 * time.Millisecond
	targetP99Rate           = 100_000
	targetNeedleBytesPerCPU = 1.5e9
	targetNarrow            = 20 * time.Millisecond
	targetRSSGrowth         = 50e6
)

func verdict(ok bool) string {
	if ok {
		return "met"
	}
	return "MISSED"
}

func mb(b int64) string { return fmt.Sprintf("%.1f MB", float64(b)/1e6) }

func durMs(d time.Duration) string { return fmt.Sprintf("%.1f ms", float64(d)/1e6) }

func commas(v float64) string {
	s := fmt.Sprintf("%.0f", v)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

// WriteTable prints the report as the harness's table.
func (r *Report) WriteTable(out io.Writer) error {
	w := &errWriter{w: out}
	wl := r.Workload
	w.printf("Skald end-to-end benchmark\n")
	w.printf("server    skald %s\n", r.Version)
	w.printf("machine   %s; load average %s at the start, %s at the end\n", r.Machine, r.Load[0], r.Load[1])
	rate := "as fast as acknowledged"
	if wl.Rate > 0 {
		rate = commas(wl.Rate) + " lines/s offered"
	}
	avg := ratio(float64(r.RawBytes), float64(wl.Lines))
	w.printf("workload  %s lines (%.0f B mean, %s raw) over %d streams (%s lines), %s of timestamps;\n",
		commas(float64(wl.Lines)), avg, mb(r.RawBytes), wl.Streams, wl.Kind, wl.Span)
	w.printf("          %s pushes of %d lines from %d senders, %s\n", wl.Format, wl.Batch, wl.Concurrency, rate)

	in := r.Ingest
	w.printf("\nINGEST\n")
	w.printf("  acknowledged               %s lines (%s) in %d pushes, %.2f s; failed pushes: %d\n",
		commas(float64(in.Lines)), mb(in.Bytes), in.Pushes, in.Seconds, in.Failures)
	for _, e := range in.Errors {
		w.printf("    %s\n", e)
	}
	w.printf("  throughput                 %s lines/s, %.1f MB/s\n", commas(in.LinesPerSecond()), ratio(float64(in.Bytes)/1e6, in.Seconds))
	p99 := time.Duration(in.P99Millis * 1e6)
	w.printf("  push latency               p50 %.1f ms, p99 %.1f ms, max %.1f ms", in.P50Millis, in.P99Millis, in.MaxMillis)
	if wl.Rate == targetP99Rate {
		w.printf("   [target p99 < %s at %s lines/s: %s]", durMs(targetP99), commas(targetP99Rate), verdict(p99 < targetP99))
	} else {
		w.printf("   [target p99 < %s applies at -rate %d]", durMs(targetP99), targetP99Rate)
	}
	w.printf("\n")
	perM := ratio(in.CPUSeconds, float64(in.Lines)/1e6)
	w.printf("  server CPU, pushes         %.2f CPU-s = %.2f CPU-s per million lines = %s lines per CPU-s   [target >= %s: %s]\n",
		in.CPUSeconds, perM, commas(in.LinesPerCPUSecond(false)), commas(targetLinesPerCPUSecond), verdict(in.LinesPerCPUSecond(false) >= targetLinesPerCPUSecond))
	w.printf("  server CPU, with flush     %.2f CPU-s = %.2f CPU-s per million lines = %s lines per CPU-s\n",
		in.CPUSeconds+in.FlushCPUSeconds, ratio(in.CPUSeconds+in.FlushCPUSeconds, float64(in.Lines)/1e6), commas(in.LinesPerCPUSecond(true)))
	w.printf("  flush                      %.2f s, %.2f CPU-s\n", in.FlushSeconds, in.FlushCPUSeconds)

	m := r.Memory
	w.printf("\nMEMORY\n")
	w.printf("  idle RSS                   %s\n", mb(m.IdleRSS))
	w.printf("  peak RSS, ingest + flush   %s = idle + %s   [target <= idle + %s: %s]\n",
		mb(m.PeakIngestRSS), mb(m.PeakIngestRSS-m.IdleRSS), mb(targetRSSGrowth), verdict(m.PeakIngestRSS-m.IdleRSS <= targetRSSGrowth))
	w.printf("  peak RSS, end (queries)    %s; RSS at the end %s\n", mb(m.PeakRSS), mb(m.EndRSS))

	d := r.Disk
	w.printf("\nDISK (bytes per raw byte)\n")
	snappyRatio := 0.0
	for _, b := range r.Baselines {
		if b.Name == "snappy" {
			snappyRatio = ratio(float64(b.Bytes), float64(r.RawBytes))
		}
	}
	diskRatio := ratio(float64(d.Objects()), float64(r.RawBytes))
	w.printf("  skald objects              %.3f  (%s: chunks %s in %d objects, index %s in %d objects)   [target <= snappy alone %.3f: %s]\n",
		diskRatio, mb(d.Objects()), mb(d.ChunkBytes), d.ChunkObjects, mb(d.IndexBytes), d.IndexObjects, snappyRatio, verdict(diskRatio <= snappyRatio))
	if d.DataDirBytes != d.Objects() {
		w.printf("  whole data directory       %.3f  (%s)\n", ratio(float64(d.DataDirBytes), float64(r.RawBytes)), mb(d.DataDirBytes))
	}
	for _, b := range r.Baselines {
		what := "lines"
		if b.Name == framedBaseline {
			what = "entries laid out as in a chunk block"
		}
		w.printf("  %-26s %.3f  (%s; raw %s in %d KiB blocks per stream)\n", b.Name, ratio(float64(b.Bytes), float64(r.RawBytes)), mb(b.Bytes), what, baselineBlockSize>>10)
	}

	w.printf("\nQUERIES (over the whole span; median of the runs after a first run; CPU = server CPU-s per run)\n")
	tw := tabwriter.NewWriter(w, 2, 8, 2, ' ', 0)
	fmt.Fprintf(tw, "  name\tfirst\tmedian\truns\tCPU/run\tscanned\tGB/CPU-s\ttarget\tresult\n")
	for _, q := range r.Queries {
		if q.Error != "" {
			fmt.Fprintf(tw, "  %s\t-\t-\t-\t-\t-\t-\t\terror: %s\n", q.Name, q.Error)
			continue
		}
		scanned, speed := "-", "-"
		if q.BytesScanned > 0 {
			scanned = mb(q.BytesScanned)
			if q.BytesSource == "workload" {
				scanned += "*"
			}
			if v := q.BytesPerCPUSecond(); v > 0 {
				speed = fmt.Sprintf("%.2f", v/1e9)
			}
		}
		result := fmt.Sprintf("%d lines", q.Entries)
		if q.Series > 0 && q.Entries == 0 {
			result = fmt.Sprintf("%d series, %d points", q.Series, q.Points)
		}
		target := ""
		switch q.Name {
		case "needle":
			target = fmt.Sprintf(">= %.1f: %s", targetNeedleBytesPerCPU/1e9, verdict(q.BytesPerCPUSecond() >= targetNeedleBytesPerCPU))
		case "narrow":
			target = fmt.Sprintf("< %s: %s", durMs(targetNarrow), verdict(q.Median < targetNarrow))
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%d\t%.3f\t%s\t%s\t%s\t%s\n",
			q.Name, durMs(q.First), durMs(q.Median), q.Runs, q.CPUSeconds, scanned, speed, target, result)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, q := range r.Queries {
		w.printf("  %-10s %s\n", q.Name, q.Query)
	}
	w.printf("  scanned: raw bytes a run reads, from the server's stats, or (*) the raw bytes of the streams\n")
	w.printf("  the query reads in full when the server reports none; GB/CPU-s = scanned per server CPU-second\n")
	for _, p := range r.Profiles {
		w.printf("\nprofile   %s   (go tool pprof -top %s)", p, p)
	}
	if len(r.Profiles) > 0 {
		w.printf("\n")
	}
	for _, n := range r.Notes {
		w.printf("note      %s\n", n)
	}
	return w.err
}

// errWriter keeps the first write error.
type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) Write(p []byte) (int, error) {
	if e.err != nil {
		return 0, e.err
	}
	n, err := e.w.Write(p)
	e.err = err
	return n, err
}

func (e *errWriter) printf(format string, args ...any) { fmt.Fprintf(e, format, args...) }
