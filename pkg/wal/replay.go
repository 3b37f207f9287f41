package wal

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// ReplayStats describe a replay.
type ReplayStats struct {
	Checkpoint int // index of the checkpoint read, -1 if none
	Segments   int // segments read after the checkpoint
	Records    int
	Bytes      int64 // bytes of checkpoint and segment files read
	// Damaged counts the ranges without a readable record (a torn tail
	// counts once); DamagedBytes their total size.
	Damaged      int
	DamagedBytes int64
	// Undecodable counts records with a valid checksum that did not decode.
	Undecodable int
	Duration    time.Duration
}

// progressEvery is how often a long replay logs its progress.
const progressEvery = 5 * time.Second

// Replay reads the newest checkpoint and then every segment after it, in
// order, and calls fn with each record. The record is valid only during the
// call. Damage is logged, counted in the stats and metrics, and skipped;
// replay stops only when ctx is done, on an I/O error or when fn fails.
// Replay must be called before the first Log.
func (w *WAL) Replay(ctx context.Context, fn func(*Record) error) (ReplayStats, error) {
	start := time.Now()
	st := ReplayStats{Checkpoint: w.checkpoint}
	w.mu.Lock()
	logged := w.logged
	w.mu.Unlock()
	if logged {
		return st, errors.New("wal: replay after writing")
	}

	type file struct {
		path string
		name string
	}
	var files []file
	if w.checkpoint >= 0 {
		dir := checkpointPath(w.opts.Dir, w.checkpoint)
		segs, err := segmentFiles(dir)
		if err != nil {
			return st, err
		}
		for _, s := range segs {
			files = append(files, file{segmentPath(dir, s), filepath.Base(dir) + "/" + segmentName(s)})
		}
	}
	nCheckpoint := len(files)
	for i, s := range w.segments {
		if i > 0 && s != w.segments[i-1]+1 {
			w.logger.Warn("wal segments missing; replaying the ones that exist", "after", w.segments[i-1], "next", s)
		}
		files = append(files, file{segmentPath(w.opts.Dir, s), segmentName(s)})
	}
	if len(files) > 0 {
		w.logger.Info("replaying wal", "dir", w.opts.Dir, "checkpoint", w.checkpoint, "segments", len(w.segments))
	}

	var rec Record
	lastLog := start
	for i, f := range files {
		if i >= nCheckpoint {
			st.Segments++
		}
		err := w.replayFile(ctx, f.path, f.name, &rec, &st, fn)
		if err != nil {
			st.Duration = time.Since(start)
			return st, err
		}
		if now := time.Now(); now.Sub(lastLog) >= progressEvery {
			w.logger.Info("replaying wal", "file", f.name, "done", fmt.Sprintf("%d/%d", i+1, len(files)),
				"records", st.Records, "bytes", st.Bytes, "elapsed", now.Sub(start).Round(time.Millisecond))
			lastLog = now
		}
	}
	st.Duration = time.Since(start)
	w.m.replayDuration.Set(st.Duration.Seconds())
	if len(files) > 0 {
		w.logger.Info("wal replay done", "records", st.Records, "bytes", st.Bytes, "segments", st.Segments,
			"damaged_ranges", st.Damaged, "damaged_bytes", st.DamagedBytes, "undecodable", st.Undecodable,
			"duration", st.Duration.Round(time.Millisecond))
	}
	return st, nil
}

func (w *WAL) replayFile(ctx context.Context, path, name string, rec *Record, st *ReplayStats, fn func(*Record) error) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("open wal file: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return fmt.Errorf("stat wal file: %w", err)
	}
	st.Bytes += fi.Size()
	r := NewSegmentReader(f, fi.Size())
	for n := 0; r.Next(); n++ {
		if n%1024 == 0 && ctx.Err() != nil {
			return ctx.Err()
		}
		if err := rec.Decode(r.Record()); err != nil {
			st.Undecodable++
			w.m.corruptions.WithLabelValues("undecodable").Inc()
			w.logger.Warn("skipping undecodable wal record", "file", name, "end_offset", r.Offset(), "err", err)
			continue
		}
		st.Records++
		w.m.replayRecords.Inc()
		if err := fn(rec); err != nil {
			return err
		}
	}
	for _, d := range r.Damage() {
		st.Damaged++
		st.DamagedBytes += d.Length
		kind := "corrupt_range"
		if d.Tail {
			kind = "torn_tail"
		}
		w.m.corruptions.WithLabelValues(kind).Inc()
		w.m.corruptBytes.Add(float64(d.Length))
		w.logger.Warn("wal damage skipped; records before and after it are replayed", "file", name,
			"damage", d.String())
	}
	if err := r.Err(); err != nil {
		if errors.Is(err, ErrUnsupportedVersion) {
			w.logger.Error("skipping wal file of another format version", "file", name, "err", err)
			return nil
		}
		return err
	}
	return nil
}
