package wal

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// Checkpoint is a checkpoint being written: a snapshot of the state that
// the log up to and including segment Last() produced. It is written to a
// temporary directory and becomes visible, atomically, on Commit.
// A Checkpoint is used by one goroutine.
type Checkpoint struct {
	w     *WAL
	last  int
	tmp   string
	start time.Time

	f      *os.File
	bw     *bufio.Writer
	idx    int
	size   int64 // bytes in the current file
	total  int64
	frames []byte
	err    error
}

// NewCheckpoint starts a checkpoint that covers the log up to and including
// segment last, as returned by NextSegment.
func (w *WAL) NewCheckpoint(last int) (*Checkpoint, error) {
	if last < 0 {
		return nil, errors.New("wal: nothing to checkpoint")
	}
	tmp := checkpointPath(w.opts.Dir, last) + ".tmp"
	if err := os.RemoveAll(tmp); err != nil {
		return nil, fmt.Errorf("remove stale checkpoint dir: %w", err)
	}
	if err := os.Mkdir(tmp, 0o755); err != nil {
		return nil, fmt.Errorf("create checkpoint dir: %w", err)
	}
	c := &Checkpoint{w: w, last: last, tmp: tmp, start: time.Now(), idx: -1}
	if err := c.nextFile(); err != nil {
		c.Abort()
		return nil, err
	}
	return c, nil
}

// Last returns the index of the last segment the checkpoint covers.
func (c *Checkpoint) Last() int { return c.last }

// Log writes a record to the checkpoint.
func (c *Checkpoint) Log(payload []byte) error {
	if c.err != nil {
		return c.err
	}
	if len(payload) == 0 || len(payload) > MaxRecordSize {
		return fmt.Errorf("%w: %d bytes", ErrRecordTooLarge, len(payload))
	}
	if c.size >= c.w.opts.SegmentSize {
		if c.err = c.nextFile(); c.err != nil {
			return c.err
		}
	}
	c.frames = appendFrame(c.frames[:0], payload)
	if _, err := c.bw.Write(c.frames); err != nil {
		c.err = fmt.Errorf("write checkpoint: %w", err)
		return c.err
	}
	c.size += int64(len(c.frames))
	c.total += int64(len(c.frames))
	return nil
}

// nextFile finishes the current file and opens the next one.
func (c *Checkpoint) nextFile() error {
	if err := c.finishFile(); err != nil {
		return err
	}
	c.idx++
	f, err := os.OpenFile(segmentPath(c.tmp, c.idx), os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644)
	if err != nil {
		return fmt.Errorf("create checkpoint file: %w", err)
	}
	c.f = f
	if c.bw == nil {
		c.bw = bufio.NewWriterSize(f, 1<<20)
	} else {
		c.bw.Reset(f)
	}
	hdr := appendSegmentHeader(nil)
	if _, err := c.bw.Write(hdr); err != nil {
		return fmt.Errorf("write checkpoint: %w", err)
	}
	c.size = int64(len(hdr))
	c.total += c.size
	return nil
}

func (c *Checkpoint) finishFile() error {
	if c.f == nil {
		return nil
	}
	err := c.bw.Flush()
	if err == nil {
		err = c.f.Sync()
		c.w.m.fsyncs.Inc()
	}
	if cerr := c.f.Close(); err == nil {
		err = cerr
	}
	c.f = nil
	if err != nil {
		return fmt.Errorf("write checkpoint: %w", err)
	}
	return nil
}

// Commit makes the checkpoint durable and visible, then deletes the segments
// it covers and older checkpoints. On error the checkpoint is discarded and
// the log is left as it was.
func (c *Checkpoint) Commit() error {
	err := c.err
	if err == nil {
		err = c.finishFile()
	}
	if err == nil {
		err = syncDir(c.tmp)
	}
	final := checkpointPath(c.w.opts.Dir, c.last)
	if _, serr := os.Stat(final); err == nil && serr == nil {
		// Nothing was logged since that checkpoint was written, so it holds
		// this same state. Keep it: replacing it is not atomic.
		c.discard()
		return nil
	}
	if err == nil {
		err = os.Rename(c.tmp, final)
	}
	if err == nil {
		err = syncDir(c.w.opts.Dir)
	}
	if err != nil {
		c.Abort()
		return fmt.Errorf("commit checkpoint %d: %w", c.last, err)
	}
	c.w.lastCheckpoint.Store(int64(c.last))
	c.w.m.checkpoints.Inc()
	c.w.m.checkpointDur.Observe(time.Since(c.start).Seconds())
	c.w.m.checkpointSize.Set(float64(c.total))
	c.w.logger.Info("wal checkpoint written", "segment", c.last, "bytes", c.total, "duration", time.Since(c.start).Round(time.Millisecond))
	return c.w.removeCovered(c.last)
}

// Abort discards the checkpoint, counting it as failed.
func (c *Checkpoint) Abort() {
	c.w.m.checkpointFail.Inc()
	c.discard()
}

func (c *Checkpoint) discard() {
	if c.f != nil {
		c.f.Close()
		c.f = nil
	}
	if c.err == nil {
		c.err = errors.New("checkpoint aborted")
	}
	if err := os.RemoveAll(c.tmp); err != nil {
		c.w.logger.Warn("removing aborted checkpoint", "dir", filepath.Base(c.tmp), "err", err)
	}
}
