package ingester

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"runtime"
	"strings"
	"time"

	"github.com/skald-logs/skald/pkg/chunk"
	"github.com/skald-logs/skald/pkg/logproto"
	"github.com/skald-logs/skald/pkg/wal"
)

// Recover replays the WAL into memory: the last checkpoint, then every
// segment after it. Until it returns the ingester is not ready and refuses
// pushes. When the chunks replayed reach the replay memory ceiling they are
// flushed to the store, and a checkpoint is written before Recover returns.
// Recover runs once; later calls return the first result.
//
// Replay is idempotent where the log overlaps the checkpoint: an entry
// replayed twice is an exact duplicate, which its chunk drops; cuts and
// flushes of chunks that are already cut or gone change nothing.
func (i *Ingester) Recover(ctx context.Context) error {
	i.recoverOnce.Do(func() {
		if i.wal != nil {
			i.state.Store(stateReplaying)
		}
		if err := i.recover(ctx); err != nil {
			i.recoverErr = err
			i.state.Store(stateFailed)
			return
		}
		i.walActive = i.wal != nil
		i.state.Store(stateRunning)
	})
	return i.recoverErr
}

func (i *Ingester) recover(ctx context.Context) error {
	if i.wal == nil {
		return nil
	}
	ceiling := int64(i.cfg.WAL.ReplayMemoryCeiling)
	if ceiling == 0 {
		ceiling = i.memLimit
	}
	r := &replayer{ing: i, refs: map[uint64]*stream{}, now: i.now(), ceiling: ceiling, nextCheck: ceiling}
	st, err := i.wal.Replay(ctx, func(rec *wal.Record) error { return r.apply(ctx, rec) })
	if err != nil {
		return fmt.Errorf("replay wal: %w", err)
	}
	r.finish()
	i.logger.Info("wal replayed", "streams", len(r.refs), "entries", r.entries, "duplicates", r.dups,
		"unflushed_bytes", i.unflushed.Load(), "flushed_during_replay", r.flushes,
		"unknown_stream_records", r.unknown, "duration", st.Duration.Round(time.Millisecond))
	if r.flushes > 0 {
		// Chunks were cut and flushed in an order the log does not record:
		// write down the state now, so a crash cannot replay it differently.
		if err := i.checkpoint(false); err != nil {
			return fmt.Errorf("checkpoint after replay: %w", err)
		}
	} else if st.Segments > 0 {
		select {
		case i.checkpointCh <- struct{}{}: // compact the replayed segments soon
		default:
		}
	}
	return nil
}

// replayer applies WAL records to the ingester.
type replayer struct {
	ing       *Ingester
	refs      map[uint64]*stream
	now       time.Time
	ceiling   int64
	nextCheck int64
	maxRef    uint64
	maxChunk  uint64
	md        []logproto.LabelAdapter

	entries, dups, unknown, flushes int
}

func (r *replayer) apply(ctx context.Context, rec *wal.Record) error {
	switch rec.Type {
	case wal.TypeSeries:
		r.series(rec)
	case wal.TypeEntries:
		r.appendEntries(rec)
	case wal.TypeCut:
		if st := r.stream(rec.Ref); st != nil {
			st.mtx.Lock()
			for _, c := range rec.Cuts {
				r.seeChunk(c.Chunk)
				if cd := st.chunkByID(c.Chunk); cd != nil {
					st.cut(cd, reasonName(c.Reason), r.ing)
				}
			}
			st.mtx.Unlock()
		}
	case wal.TypeFlushed:
		for _, f := range rec.Flushed {
			r.seeChunk(f.Chunk)
			if st := r.stream(f.Ref); st != nil {
				st.mtx.Lock()
				st.removeChunks(f.Chunk, r.ing)
				st.mtx.Unlock()
			}
		}
	case wal.TypeChunk:
		r.restoreChunk(&rec.Chunk)
	}
	if r.ing.unflushed.Load() >= r.nextCheck {
		r.flush(ctx)
	}
	return nil
}

func (r *replayer) series(rec *wal.Record) {
	r.maxRef = max(r.maxRef, rec.Ref)
	if _, ok := r.refs[rec.Ref]; ok {
		return // in the checkpoint and again in a segment
	}
	key := strings.Clone(rec.Labels)
	inst := r.ing.instance(strings.Clone(rec.Tenant), true)
	inst.mtx.Lock()
	defer inst.mtx.Unlock()
	if st := inst.streams[key]; st != nil {
		// The same labels under another ref: an earlier incarnation of the
		// stream that is not gone yet. Both refs lead to it.
		r.refs[rec.Ref] = st
		return
	}
	lbls, err := logproto.ParseLabels(key)
	if err != nil || lbls.IsEmpty() {
		r.ing.logger.Warn("wal: skipping stream with unreadable labels", "labels", key, "err", err)
		return
	}
	r.refs[rec.Ref] = inst.addStream(key, lbls, rec.Ref)
}

func (r *replayer) stream(ref uint64) *stream {
	st := r.refs[ref]
	if st == nil {
		r.unknown++
		if r.unknown <= 10 {
			r.ing.logger.Warn("wal: record for an unknown stream skipped (its series record is lost)", "ref", ref)
		}
	}
	return st
}

func (r *replayer) seeChunk(id uint64) { r.maxChunk = max(r.maxChunk, id) }

func (r *replayer) appendEntries(rec *wal.Record) {
	st := r.stream(rec.Ref)
	if st == nil {
		return
	}
	ing := r.ing
	window := int64(ing.cfg.MaxChunkAge / 2)
	st.mtx.Lock()
	defer st.mtx.Unlock()
	var cd *chunkDesc
	for k := range rec.Entries {
		e := &rec.Entries[k]
		r.seeChunk(e.Chunk)
		if cd == nil || cd.id != e.Chunk {
			if cd != nil {
				ing.account(cd)
			}
			if cd = st.chunkByID(e.Chunk); cd == nil {
				cd = st.newChunk(e.Chunk, floorDiv(e.Timestamp, window)*window, r.now, ing)
			}
		}
		r.md = r.md[:0]
		for _, l := range e.Metadata {
			r.md = append(r.md, logproto.LabelAdapter{Name: l.Name, Value: l.Value})
		}
		dup, err := cd.append(e.Timestamp, e.Line, r.md)
		switch {
		case err != nil:
			ing.logger.Warn("wal: entry could not be replayed", "stream", st.key, "err", err)
			continue
		case dup:
			r.dups++
			continue
		}
		r.entries++
		ing.m.replayedLines.Inc()
		cd.lastAppend = r.now
		if e.Timestamp > st.highest {
			st.highest = e.Timestamp
		}
	}
	if cd != nil {
		ing.account(cd)
	}
}

// restoreChunk adds a chunk of the checkpoint.
func (r *replayer) restoreChunk(cs *wal.ChunkState) {
	r.seeChunk(cs.Chunk)
	st := r.stream(cs.Ref)
	if st == nil {
		return
	}
	c, err := chunk.Decode(cs.Data)
	if err != nil {
		r.ing.logger.Warn("wal: unreadable chunk in checkpoint skipped", "stream", st.key, "chunk", cs.Chunk, "err", err)
		return
	}
	st.mtx.Lock()
	defer st.mtx.Unlock()
	if st.chunkByID(cs.Chunk) != nil {
		return
	}
	ing := r.ing
	cd := st.newChunk(cs.Chunk, cs.Window, time.Unix(0, cs.FirstAppend), ing)
	cd.lastAppend = time.Unix(0, cs.LastAppend)
	// Forward order keeps the arrival order of equal timestamps, so the
	// rebuilt chunk encodes to the same bytes.
	from, through := c.Bounds()
	complete := through < math.MaxInt64
	it := c.Iterator(from, through+1, logproto.Forward)
	for it.Next() {
		ts, line, md := it.At()
		if _, err := cd.append(ts, string(line), md); err != nil {
			ing.logger.Warn("wal: entry of checkpoint chunk could not be restored", "stream", st.key, "err", err)
			complete = false
			continue
		}
		r.entries++
		ing.m.replayedLines.Inc()
		if ts > st.highest {
			st.highest = ts
		}
	}
	if err := it.Err(); err != nil {
		ing.logger.Warn("wal: checkpoint chunk partly unreadable", "stream", st.key, "err", err)
		complete = false
	}
	it.Close()
	if !cs.Open {
		st.cut(cd, reasonName(cs.Reason), ing)
		if complete {
			cd.data = bytes.Clone(cs.Data) // the very bytes to flush
		}
	}
	ing.account(cd)
}

// flush writes the replayed chunks to the store when they reach the ceiling.
func (r *replayer) flush(ctx context.Context) {
	ing := r.ing
	held := ing.unflushed.Load()
	ing.logger.Info("wal replay reached its memory ceiling; flushing to the store", "held", humanBytes(held), "ceiling", humanBytes(r.ceiling))
	err := ing.sweep(ctx, sweepOptions{all: true, reason: reasonReplayCeiling, retry: true, abort: ing.quit, replay: true})
	r.flushes++
	if err != nil {
		ing.logger.Warn("flush during wal replay failed; replay goes on in memory", "err", err)
	}
	// The flushed chunks are garbage now: collect them before the replay
	// fills the heap again, so the ceiling bounds the heap, not just the
	// live data.
	runtime.GC()
	// Look again after another quarter of the ceiling.
	r.nextCheck = max(ing.unflushed.Load(), r.ceiling) + r.ceiling/4
	if err == nil && ing.unflushed.Load() < r.ceiling {
		r.nextCheck = r.ceiling
	}
}

// finish drops the streams that hold nothing and sets the id counters past
// what the WAL used.
func (r *replayer) finish() {
	ing := r.ing
	for _, inst := range ing.allInstances() {
		for _, st := range inst.snapshot() {
			st.mtx.Lock()
			empty := len(st.chunks) == 0
			st.mtx.Unlock()
			if empty {
				inst.removeIfEmpty(st)
			}
		}
	}
	ing.nextRef.Store(max(ing.nextRef.Load(), r.maxRef))
	ing.nextChunk.Store(max(ing.nextChunk.Load(), r.maxChunk))
}

// removeChunks drops the chunks with the WAL id: the chunk of that id is in
// the store, and every entry the log sent to it with it. s.mtx must be held.
func (s *stream) removeChunks(id uint64, ing *Ingester) {
	kept := s.chunks[:0]
	for _, cd := range s.chunks {
		if cd.id != id {
			kept = append(kept, cd)
			continue
		}
		if !cd.open && cd.flushed.IsZero() {
			ing.queued.Add(-1)
		}
		cd.flushed = time.Unix(0, 1)
		ing.release(cd)
	}
	clear(s.chunks[len(kept):])
	s.chunks = kept
}
