package wal

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// SyncPolicy says when the WAL calls fsync, and so what a Wait that returned
// nil guarantees.
type SyncPolicy uint8

const (
	// SyncAlways fsyncs before Wait returns: a record survives a process
	// crash and a power loss. Concurrent waiters share fsyncs.
	SyncAlways SyncPolicy = iota
	// SyncBatch writes to the operating system before Wait returns and
	// fsyncs every SyncPeriod: a record survives a process crash; a power
	// loss may lose the last SyncPeriod.
	SyncBatch
	// SyncNone writes to the operating system before Wait returns and fsyncs
	// only when a segment is complete and at Close: a record survives a
	// process crash; a power loss may lose what the kernel had not written
	// back yet (typically up to 30 s on Linux).
	SyncNone
)

// ParseSyncPolicy reads always, batch or none.
func ParseSyncPolicy(s string) (SyncPolicy, error) {
	switch s {
	case "always":
		return SyncAlways, nil
	case "batch":
		return SyncBatch, nil
	case "none":
		return SyncNone, nil
	}
	return 0, fmt.Errorf("unknown wal sync policy %q (want always, batch or none)", s)
}

func (p SyncPolicy) String() string {
	switch p {
	case SyncAlways:
		return "always"
	case SyncBatch:
		return "batch"
	case SyncNone:
		return "none"
	}
	return fmt.Sprintf("SyncPolicy(%d)", uint8(p))
}

// Options configure a WAL.
type Options struct {
	// Dir holds the segments and checkpoints; it is created if missing.
	Dir string
	// SegmentSize is the size at which a segment is closed and the next one
	// started. Default 64 MiB.
	SegmentSize int64
	// Sync is the fsync policy.
	Sync SyncPolicy
	// SyncPeriod is how often records logged without a Wait are written out
	// and, with SyncBatch, how often the segment is fsynced. Default 1s.
	SyncPeriod time.Duration
}

// DefaultSegmentSize is the default Options.SegmentSize.
const DefaultSegmentSize = 64 << 20

// WAL is a write-ahead log in one directory. Log, Wait, NextSegment and the
// checkpoint methods are safe for concurrent use; Replay must be called, if
// at all, before the first Log.
type WAL struct {
	opts   Options
	logger *slog.Logger
	m      *metrics

	// found by Open
	segments   []int // existing segments after the checkpoint, ascending
	checkpoint int   // index of the last complete checkpoint, -1 if none

	lastCheckpoint atomic.Int64
	lastSegment    atomic.Int64 // mirror of segIdx for Segment

	mu     sync.Mutex // guards cur, closed, logged
	cur    *batch
	closed bool
	logged bool

	writeMu sync.Mutex // serialises writes, fsyncs and segment changes
	// syncMu is held by the background fsync of SyncBatch, which runs
	// without writeMu so writers go on meanwhile, and by closeSegment, so
	// that the file is not closed under it. Order: writeMu, then syncMu.
	syncMu  sync.Mutex
	seg     *os.File
	segIdx  int   // index of the open segment, or of the last one if seg is nil
	segSize int64 // bytes in the open segment
	dirty   bool  // written since the last fsync
	broken  bool  // the last write failed: the next one starts a new segment
	spare   []byte

	lock *os.File // held while open

	quit chan struct{}
	done sync.WaitGroup
}

// batch is the group of records committed by one write (and fsync).
type batch struct {
	buf  []byte
	n    int
	done chan struct{}
	err  error
}

// Ticket identifies a logged record for Wait.
type Ticket struct{ b *batch }

// Open opens the WAL in opts.Dir, creating the directory if needed, and
// starts its background writer. Leftovers of an interrupted checkpoint and
// segments covered by the last checkpoint are removed.
func Open(opts Options, logger *slog.Logger, reg prometheus.Registerer) (*WAL, error) {
	if opts.SegmentSize <= 0 {
		opts.SegmentSize = DefaultSegmentSize
	}
	if opts.SyncPeriod <= 0 {
		opts.SyncPeriod = time.Second
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if err := os.MkdirAll(opts.Dir, 0o755); err != nil {
		return nil, fmt.Errorf("create wal dir: %w", err)
	}
	lock, err := lockDir(opts.Dir)
	if err != nil {
		return nil, err
	}
	w := &WAL{opts: opts, logger: logger, m: newMetrics(reg), checkpoint: -1, lock: lock, quit: make(chan struct{})}
	if err := w.scan(); err != nil {
		w.unlock()
		return nil, err
	}
	w.segIdx = w.checkpoint
	w.lastCheckpoint.Store(int64(w.checkpoint))
	if n := len(w.segments); n > 0 {
		w.segIdx = w.segments[n-1]
	}
	w.lastSegment.Store(int64(w.segIdx))
	w.cur = &batch{done: make(chan struct{})}
	w.done.Add(1)
	go w.loop()
	return w, nil
}

// scan lists the directory, removes what the last checkpoint makes stale and
// records what Replay must read.
func (w *WAL) scan() error {
	d, err := listDir(w.opts.Dir)
	if err != nil {
		return err
	}
	for _, tmp := range d.tmp {
		if err := os.RemoveAll(filepath.Join(w.opts.Dir, tmp)); err != nil {
			return fmt.Errorf("remove interrupted checkpoint: %w", err)
		}
	}
	if n := len(d.checkpoints); n > 0 {
		w.checkpoint = d.checkpoints[n-1]
	}
	for _, s := range d.segments {
		if s > w.checkpoint {
			w.segments = append(w.segments, s)
		}
	}
	return w.removeCovered(w.checkpoint)
}

// Log appends a record payload to the pending batch. The payload is copied.
// The record is written at the latest by the next Wait of any caller or
// within SyncPeriod.
func (w *WAL) Log(payload []byte) (Ticket, error) {
	if len(payload) == 0 || len(payload) > MaxRecordSize {
		return Ticket{}, fmt.Errorf("%w: %d bytes", ErrRecordTooLarge, len(payload))
	}
	var h [frameHeaderSize]byte
	putFrameHeader(h[:], payload)
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return Ticket{}, ErrClosed
	}
	b := w.cur
	b.buf = append(b.buf, h[:]...)
	b.buf = append(b.buf, payload...)
	b.n++
	w.logged = true
	return Ticket{b}, nil
}

// Wait blocks until the record of t is written to the operating system and,
// with SyncAlways, fsynced. Callers that wait at the same time share one
// write and one fsync. A non-nil error means the record may be lost.
func (w *WAL) Wait(t Ticket) error {
	if t.b == nil {
		return nil
	}
	select {
	case <-t.b.done:
		return t.b.err
	default:
	}
	w.writeMu.Lock()
	select {
	case <-t.b.done:
	default:
		// t.b is still the current batch: batches are taken in order, each
		// under writeMu, and completed before writeMu is released.
		w.commitLocked(w.opts.Sync == SyncAlways)
	}
	w.writeMu.Unlock()
	return t.b.err
}

// commitLocked writes the current batch, fsyncing if asked, and always
// with SyncAlways: closing the batch's done acknowledges its records to
// every waiter, whoever commits it (a Wait, the background writer,
// NextSegment). w.writeMu must be held.
func (w *WAL) commitLocked(fsync bool) {
	fsync = fsync || w.opts.Sync == SyncAlways
	w.mu.Lock()
	b := w.cur
	w.cur = &batch{buf: w.spare[:0], done: make(chan struct{})}
	w.spare = nil
	w.mu.Unlock()
	if b.n > 0 {
		b.err = w.write(b.buf)
		if b.err == nil {
			w.m.records.Add(float64(b.n))
			w.m.bytes.Add(float64(len(b.buf)))
		}
	}
	if b.err == nil && fsync && w.dirty {
		b.err = w.sync()
	}
	if b.err != nil {
		w.m.writeFailures.Inc()
		w.logger.Error("wal write failed; the records are not acknowledged", "segment", w.segIdx, "err", b.err)
	}
	if cap(b.buf) <= 4<<20 {
		w.spare = b.buf[:0]
	}
	b.buf = nil
	close(b.done)
}

// write appends buf to the open segment, starting a new one when there is
// none, the current one is full or a write to it failed.
func (w *WAL) write(buf []byte) error {
	if w.seg == nil || w.broken || w.segSize >= w.opts.SegmentSize {
		if err := w.rotate(); err != nil {
			return err
		}
	}
	n, err := w.seg.Write(buf)
	w.segSize += int64(n)
	if n > 0 {
		w.dirty = true
	}
	if err != nil {
		w.broken = true
		return fmt.Errorf("write wal segment %d: %w", w.segIdx, err)
	}
	return nil
}

func (w *WAL) sync() error {
	start := time.Now()
	err := w.seg.Sync()
	w.m.fsyncs.Inc()
	w.m.fsyncDuration.Observe(time.Since(start).Seconds())
	if err != nil {
		// After a failed fsync the kernel may have dropped the dirty pages;
		// never trust this segment again.
		w.broken = true
		return fmt.Errorf("fsync wal segment %d: %w", w.segIdx, err)
	}
	w.dirty = false
	return nil
}

// rotate closes the open segment, if any, and starts the next one.
func (w *WAL) rotate() error {
	if err := w.closeSegment(); err != nil {
		w.logger.Warn("closing wal segment", "segment", w.segIdx, "err", err)
	}
	idx := w.segIdx + 1
	f, err := os.OpenFile(segmentPath(w.opts.Dir, idx), os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644)
	if err != nil {
		return fmt.Errorf("create wal segment: %w", err)
	}
	w.segIdx = idx // even if the header fails: never reuse an index
	w.lastSegment.Store(int64(idx))
	if _, err := f.Write(appendSegmentHeader(nil)); err != nil {
		f.Close()
		return fmt.Errorf("write wal segment header: %w", err)
	}
	// The new file's directory entry must survive a power loss too.
	if err := syncDir(w.opts.Dir); err != nil {
		f.Close()
		return err
	}
	w.seg, w.segSize, w.dirty, w.broken = f, segmentHeaderSize, true, false
	w.m.segment.Set(float64(idx))
	return nil
}

// closeSegment fsyncs (unless broken) and closes the open segment.
func (w *WAL) closeSegment() error {
	if w.seg == nil {
		return nil
	}
	w.syncMu.Lock()
	defer w.syncMu.Unlock()
	var err error
	if w.dirty && !w.broken {
		err = w.sync()
	}
	if cerr := w.seg.Close(); err == nil {
		err = cerr
	}
	w.seg = nil
	return err
}

// loop writes records logged without a Wait and, with SyncBatch, fsyncs.
func (w *WAL) loop() {
	defer w.done.Done()
	t := time.NewTicker(w.opts.SyncPeriod)
	defer t.Stop()
	for {
		select {
		case <-w.quit:
			return
		case <-t.C:
			w.writeMu.Lock()
			w.commitLocked(false)
			f, idx := w.seg, w.segIdx
			if w.opts.Sync != SyncBatch || f == nil || !w.dirty || w.broken {
				w.writeMu.Unlock()
				continue
			}
			w.dirty = false // writes from now on need the next fsync
			// Lock syncMu before releasing writeMu: the segment cannot be
			// closed before this fsync is done.
			w.syncMu.Lock()
			w.writeMu.Unlock()
			start := time.Now()
			err := f.Sync()
			w.m.fsyncs.Inc()
			w.m.fsyncDuration.Observe(time.Since(start).Seconds())
			w.syncMu.Unlock()
			if err != nil {
				w.writeMu.Lock()
				if w.seg == f {
					w.broken = true
				}
				w.writeMu.Unlock()
				w.m.writeFailures.Inc()
				w.logger.Error("periodic wal fsync failed; records written in the last period may be lost on power loss", "segment", idx, "err", err)
			}
		}
	}
}

// NextSegment writes what is pending, closes the open segment and returns
// the index of the last segment written: a checkpoint of the state at this
// moment covers the log up to and including it. The next record goes to a
// new segment. It returns -1 when no segment was ever written.
func (w *WAL) NextSegment() (int, error) {
	w.writeMu.Lock()
	defer w.writeMu.Unlock()
	w.commitLocked(false)
	err := w.closeSegment()
	return w.segIdx, err
}

// Segment returns the index of the segment being written (or last written);
// it takes no lock.
func (w *WAL) Segment() int { return int(w.lastSegment.Load()) }

// LastCheckpoint returns the index of the last segment covered by the
// newest complete checkpoint, or -1 if there is none.
func (w *WAL) LastCheckpoint() int { return int(w.lastCheckpoint.Load()) }

// Close writes and fsyncs what is pending and closes the WAL. Log and Wait
// fail with ErrClosed afterwards.
func (w *WAL) Close() error {
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		return nil
	}
	w.closed = true
	w.mu.Unlock()
	close(w.quit)
	w.done.Wait()
	w.writeMu.Lock()
	defer w.writeMu.Unlock()
	w.commitLocked(true)
	err := w.closeSegment()
	w.cur.err = ErrClosed
	close(w.cur.done)
	w.unlock()
	return err
}

func (w *WAL) unlock() {
	if w.lock != nil {
		w.lock.Close() // releases the flock
		w.lock = nil
	}
}

// removeCovered deletes the segments up to and including last and the
// checkpoints before last.
func (w *WAL) removeCovered(last int) error {
	if last < 0 {
		return nil
	}
	d, err := listDir(w.opts.Dir)
	if err != nil {
		return err
	}
	var errs []error
	for _, s := range d.segments {
		if s <= last {
			errs = append(errs, os.Remove(segmentPath(w.opts.Dir, s)))
		}
	}
	for _, c := range d.checkpoints {
		if c < last {
			errs = append(errs, os.RemoveAll(checkpointPath(w.opts.Dir, c)))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("remove wal files covered by checkpoint %d: %w", last, err)
	}
	return nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("open dir for fsync: %w", err)
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("fsync dir %s: %w", dir, err)
	}
	return nil
}
