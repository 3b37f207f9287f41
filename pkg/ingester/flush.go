package ingester

import (
	"context"
	"errors"
	"fmt"
	"hash/crc32"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/skald-logs/skald/pkg/index"
	"github.com/skald-logs/skald/pkg/storage"
	"github.com/skald-logs/skald/pkg/wal"
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// Bounds of one write to the store.
const (
	maxBatchChunks = 1000
	maxBatchBytes  = 64 << 20
)

type flushItem struct {
	st *stream
	cd *chunkDesc
}

// sweepOptions say what a sweep does beyond flushing the chunks that are due.
type sweepOptions struct {
	all    bool   // cut every open chunk
	reason string // the cut reason when all is set
	// retry failed writes with backoff, until the retries are used up, ctx
	// is done or abort is closed.
	retry bool
	abort <-chan struct{}
	// replay: forget flushed chunks at once and keep empty streams, whose
	// WAL refs later records may use.
	replay bool
	// pressure: the chunks reached the memory budget. Cut the largest open
	// chunks (chosen by pickForPressure, into pick) with reason, and forget
	// flushed chunks at once, whatever their retain period.
	pressure bool
	pick     map[*chunkDesc]bool
}

// sweep cuts the chunks that are due (all open chunks when opts.all is
// set), writes every cut chunk that is not yet in the store, logs the writes
// to the WAL, and forgets flushed chunks once their retain period is over.
// Sweeps never overlap.
func (i *Ingester) sweep(ctx context.Context, opts sweepOptions) error {
	i.flushMtx.Lock()
	defer i.flushMtx.Unlock()
	if opts.pressure {
		opts.pick = i.pickForPressure()
	}
	var errs []error
	for _, inst := range i.allInstances() {
		if err := i.sweepInstance(ctx, inst, opts); err != nil {
			errs = append(errs, fmt.Errorf("tenant %s: %w", inst.tenant, err))
		}
	}
	return errors.Join(errs...)
}

func (i *Ingester) sweepInstance(ctx context.Context, inst *instance, opts sweepOptions) error {
	now := i.now()
	retain := i.cfg.ChunkRetainPeriod
	if opts.replay || opts.pressure {
		retain = 0
	}
	wl := getWALWriter(i)
	defer putWALWriter(wl)
	var (
		batch      []storage.Chunk
		items      []flushItem
		marks      []wal.FlushedChunk
		batchBytes int
		errs       []error
	)
	write := func() {
		if len(batch) == 0 {
			return
		}
		if err := i.putChunks(ctx, inst.tenant, batch, opts); err != nil {
			errs = append(errs, err)
		} else {
			flushed := i.now()
			marks = marks[:0]
			for _, it := range items {
				it.st.mtx.Lock()
				i.m.chunksFlushed.WithLabelValues(it.cd.reason).Inc()
				i.m.chunkBytes.Add(float64(len(it.cd.data)))
				it.cd.flushed = flushed
				it.cd.data = nil
				i.account(it.cd)
				i.queued.Add(-1)
				marks = append(marks, wal.FlushedChunk{Ref: it.st.ref, Chunk: it.cd.id})
				if opts.replay || opts.pressure {
					it.st.forgetFlushed(flushed, 0, i) // free the memory now
				}
				it.st.mtx.Unlock()
			}
			// After the chunks are marked: a checkpoint that does not see
			// the record sees them flushed.
			wl.flushed(marks)
		}
		batch, items, batchBytes = batch[:0], items[:0], 0
	}

	for _, st := range inst.snapshot() {
		st.mtx.Lock()
		wl.beginStream(st.ref)
		st.cutDue(now, &i.cfg, &opts, i, wl)
		wl.endStream()
		for _, cd := range st.chunks {
			if cd.open || !cd.flushed.IsZero() || cd.c.Len() == 0 {
				continue
			}
			if cd.data == nil {
				data, err := cd.c.Encode()
				if err != nil {
					st.mtx.Unlock()
					return fmt.Errorf("encode chunk of %s: %w", st.key, err)
				}
				cd.data = data
				i.account(cd)
			}
			batch = append(batch, storage.Chunk{Labels: st.lbls, Fingerprint: st.fp, Data: cd.data, Ref: chunkRef(cd)})
			items = append(items, flushItem{st: st, cd: cd})
			batchBytes += len(cd.data)
		}
		empty := st.forgetFlushed(now, retain, i)
		st.mtx.Unlock()
		if empty && !opts.replay {
			inst.removeIfEmpty(st)
		}
		if len(batch) >= maxBatchChunks || batchBytes >= maxBatchBytes {
			write()
		}
	}
	write()
	if wl.w != nil && wl.err == nil {
		// Make the flush records durable now: replay after a crash would
		// flush those chunks again (to the same objects, but still).
		wl.err = wl.w.Wait(wl.ticket)
	}
	if wl.err != nil {
		i.logger.Warn("could not log cuts or flushes to the wal; replay may flush some chunks again", "err", wl.err)
	}
	return errors.Join(errs...)
}

// putChunks writes a batch, retrying failures with exponential backoff and
// jitter when opts.retry is set.
func (i *Ingester) putChunks(ctx context.Context, tenant string, batch []storage.Chunk, opts sweepOptions) error {
	b := i.cfg.FlushOpBackoff
	backoff := b.MinBackoff
	for attempt := 0; ; attempt++ {
		actx, cancel := context.WithTimeout(ctx, i.cfg.FlushOpTimeout)
		err := i.store.PutChunks(actx, tenant, batch)
		cancel()
		if err == nil {
			i.flushErr.Store(nil)
			return nil
		}
		i.m.flushFailures.Inc()
		msg := shortError(err)
		i.flushErr.Store(&msg)
		if !opts.retry || attempt >= b.MaxRetries || ctx.Err() != nil {
			return fmt.Errorf("write %d chunks: %w", len(batch), err)
		}
		// Equal jitter: half the backoff, plus up to as much again at random,
		// so that ingesters retrying together spread out.
		wait := backoff/2 + rand.N(backoff/2+1)
		i.logger.Warn("writing chunks failed; retrying", "tenant", tenant, "chunks", len(batch),
			"attempt", attempt+1, "retry_in", wait.Round(time.Millisecond), "err", msg)
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("write %d chunks: %w", len(batch), err)
		case <-opts.abort:
			t.Stop()
			return fmt.Errorf("write %d chunks: %w", len(batch), err)
		}
		i.m.flushRetries.Inc()
		backoff = min(2*backoff, b.MaxBackoff)
	}
}

// shortError is the first line of err, cut to a length that fits in an
// HTTP answer: a batch's error joins one error per chunk.
func shortError(err error) string {
	msg, rest, more := strings.Cut(err.Error(), "\n")
	if len(msg) > 300 {
		msg = msg[:300] + "..."
	}
	if more {
		msg += fmt.Sprintf(" (and %d more errors)", strings.Count(rest, "\n")+1)
	}
	return msg
}

func chunkRef(cd *chunkDesc) index.ChunkRef {
	from, through := cd.c.Bounds()
	return index.ChunkRef{
		From:              from,
		Through:           through,
		Checksum:          crc32.Checksum(cd.data, castagnoli),
		Entries:           uint32(cd.c.Len()),
		UncompressedBytes: uint32(cd.c.Size()),
		CompressedBytes:   uint32(len(cd.data)),
	}
}

// forgetFlushed drops flushed chunks older than the retain period and reports
// whether the stream holds no chunk any more. s.mtx must be held.
func (s *stream) forgetFlushed(now time.Time, retain time.Duration, ing *Ingester) bool {
	kept := s.chunks[:0]
	for _, cd := range s.chunks {
		if !cd.flushed.IsZero() && now.Sub(cd.flushed) >= retain {
			ing.release(cd)
			continue
		}
		kept = append(kept, cd)
	}
	for j := len(kept); j < len(s.chunks); j++ {
		s.chunks[j] = nil
	}
	s.chunks = kept
	return len(s.chunks) == 0
}
