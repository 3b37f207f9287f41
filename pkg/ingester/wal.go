package ingester

import (
	"fmt"
	"sync"
	"time"

	"github.com/skald-logs/skald/pkg/logproto"
	"github.com/skald-logs/skald/pkg/wal"
)

// Why a chunk was cut; stored in the WAL as the index in cutReasons.
const (
	reasonFull           = "full"
	reasonIdle           = "idle"
	reasonMaxAge         = "max_age"
	reasonWindowClosed   = "window_closed"
	reasonForced         = "forced"
	reasonMemoryPressure = "memory_pressure"
	reasonReplayCeiling  = "replay_ceiling"
)

var cutReasons = []string{"", reasonFull, reasonIdle, reasonMaxAge, reasonWindowClosed, reasonForced, reasonMemoryPressure, reasonReplayCeiling}

func reasonCode(r string) uint8 {
	for i, s := range cutReasons {
		if s == r {
			return uint8(i)
		}
	}
	return 0
}

func reasonName(c uint8) string {
	if int(c) < len(cutReasons) {
		return cutReasons[c]
	}
	return ""
}

// maxEntriesRecord is the size at which a push's entries for one stream are
// split into several records.
const maxEntriesRecord = 4 << 20

// walWriter builds the WAL records of one push or sweep. Its methods do
// nothing when the WAL is off or not yet active (during replay). The first
// error is kept in err; ticket is that of the last record logged.
type walWriter struct {
	w      *wal.WAL
	buf    []byte
	ref    uint64
	n      int // entries in buf
	cuts   []wal.ChunkCut
	ticket wal.Ticket
	err    error
}

var walWriterPool = sync.Pool{New: func() any { return &walWriter{} }}

func getWALWriter(i *Ingester) *walWriter {
	wl := walWriterPool.Get().(*walWriter)
	if i.walActive {
		wl.w = i.wal
	}
	return wl
}

func putWALWriter(wl *walWriter) {
	if cap(wl.buf) > 1<<20 {
		wl.buf = nil
	}
	*wl = walWriter{buf: wl.buf[:0], cuts: wl.cuts[:0]}
	walWriterPool.Put(wl)
}

func (wl *walWriter) log(payload []byte) {
	if wl.err != nil {
		return
	}
	t, err := wl.w.Log(payload)
	if err != nil {
		wl.err = err
		return
	}
	wl.ticket = t
}

// series logs the creation of a stream.
func (wl *walWriter) series(tenant string, ref uint64, key string) {
	if wl.w == nil {
		return
	}
	wl.log(wal.AppendSeries(wl.buf[:0], tenant, ref, key))
}

// beginStream starts the records of one stream; endStream logs them.
func (wl *walWriter) beginStream(ref uint64) {
	if wl.w == nil {
		return
	}
	wl.ref, wl.n, wl.cuts = ref, 0, wl.cuts[:0]
	wl.buf = wal.AppendEntriesHeader(wl.buf[:0], ref)
}

// entry adds an appended entry to the stream's Entries record.
func (wl *walWriter) entry(chunkID uint64, e *logproto.Entry) {
	if wl.w == nil {
		return
	}
	wl.buf = wal.AppendEntry(wl.buf, chunkID, e.Timestamp, e.Line, len(e.StructuredMetadata))
	for _, l := range e.StructuredMetadata {
		wl.buf = wal.AppendLabel(wl.buf, l.Name, l.Value)
	}
	wl.n++
	if len(wl.buf) >= maxEntriesRecord {
		wl.log(wl.buf)
		wl.n = 0
		wl.buf = wal.AppendEntriesHeader(wl.buf[:0], wl.ref)
	}
}

// cut adds a cut chunk to the stream's Cut record.
func (wl *walWriter) cut(cd *chunkDesc) {
	if wl.w == nil {
		return
	}
	wl.cuts = append(wl.cuts, wal.ChunkCut{Chunk: cd.id, Reason: reasonCode(cd.reason)})
}

func (wl *walWriter) endStream() {
	if wl.w == nil {
		return
	}
	if wl.n > 0 {
		wl.log(wl.buf)
		wl.n = 0
	}
	if len(wl.cuts) > 0 {
		wl.log(wal.AppendCut(wl.buf[:0], wl.ref, wl.cuts))
		wl.cuts = wl.cuts[:0]
	}
}

// flushed logs that chunks are durably stored.
func (wl *walWriter) flushed(chunks []wal.FlushedChunk) {
	if wl.w == nil || len(chunks) == 0 {
		return
	}
	wl.log(wal.AppendFlushed(wl.buf[:0], chunks))
}

// walSegmentsPerCheckpoint: a checkpoint is also written as soon as this
// many segments were filled since the last one, so a fast ingest does not
// keep minutes of WAL on disk; with the memory budget most of it is flushed
// already and the checkpoint is small.
const walSegmentsPerCheckpoint = 4

func (i *Ingester) checkpointLoop() {
	defer i.done.Done()
	t := time.NewTicker(i.cfg.WAL.CheckpointDuration)
	defer t.Stop()
	grow := time.NewTicker(time.Second)
	defer grow.Stop()
	for {
		select {
		case <-i.quit:
			return
		case <-t.C:
		case <-i.checkpointCh:
		case <-grow.C:
			if i.wal.Segment()-i.wal.LastCheckpoint() < walSegmentsPerCheckpoint {
				continue
			}
		}
		if err := i.checkpoint(false); err != nil {
			i.logger.Error("wal checkpoint failed; the segments are kept", "err", err)
		}
	}
}

// checkpoint writes the unflushed state to a WAL checkpoint, which deletes
// the segments written before it. Every stream is written, even without
// unflushed chunks, because later records refer to it; a final checkpoint
// (after the loops stopped) writes only the streams with unflushed chunks.
//
// Records logged between the segment cut and the moment a stream is
// snapshotted are in both the checkpoint and the next segment; replaying
// them twice is harmless (see recovery.go).
func (i *Ingester) checkpoint(final bool) error {
	i.checkpointMu.Lock()
	defer i.checkpointMu.Unlock()
	last, err := i.wal.NextSegment()
	if err != nil {
		return err
	}
	if last < 0 || last == i.wal.LastCheckpoint() {
		return nil // nothing logged since the last checkpoint
	}
	cp, err := i.wal.NewCheckpoint(last)
	if err != nil {
		return err
	}
	var (
		buf    []byte
		states []wal.ChunkState
		series int
		chunks int
	)
	for _, inst := range i.allInstances() {
		for _, st := range inst.snapshot() {
			states = states[:0]
			st.mtx.Lock()
			for _, cd := range st.chunks {
				if !cd.flushed.IsZero() || cd.c.Len() == 0 {
					continue
				}
				data := cd.data
				if data == nil {
					if data, err = cd.c.Encode(); err != nil {
						st.mtx.Unlock()
						cp.Abort()
						return fmt.Errorf("encode chunk of %s: %w", st.key, err)
					}
					if !cd.open {
						cd.data = data // the flush will need it
						i.account(cd)
					}
				}
				states = append(states, wal.ChunkState{
					Ref: st.ref, Chunk: cd.id, Window: cd.window, Open: cd.open, Reason: reasonCode(cd.reason),
					FirstAppend: cd.firstAppend.UnixNano(), LastAppend: cd.lastAppend.UnixNano(), Data: data,
				})
			}
			st.mtx.Unlock()
			if final && len(states) == 0 {
				continue
			}
			buf = wal.AppendSeries(buf[:0], inst.tenant, st.ref, st.key)
			err := cp.Log(buf)
			for k := 0; err == nil && k < len(states); k++ {
				buf = wal.AppendChunk(buf[:0], &states[k])
				err = cp.Log(buf)
			}
			if err != nil {
				cp.Abort()
				return err
			}
			series++
			chunks += len(states)
		}
	}
	if err := cp.Commit(); err != nil {
		return err
	}
	i.logger.Debug("wal checkpoint contents", "segment", last, "streams", series, "chunks", chunks)
	return nil
}
