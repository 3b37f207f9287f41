package ingester

import (
	"context"
	"errors"
	"fmt"
	"hash/crc32"
	"time"

	"github.com/skald-logs/skald/pkg/index"
	"github.com/skald-logs/skald/pkg/storage"
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

// sweep cuts the chunks that are due (all open chunks when all is set),
// writes every cut chunk that is not yet in the store, and forgets flushed
// chunks once their retain period is over. Sweeps never overlap.
func (i *Ingester) sweep(ctx context.Context, all bool) error {
	i.flushMtx.Lock()
	defer i.flushMtx.Unlock()
	var errs []error
	for _, inst := range i.allInstances() {
		if err := i.sweepInstance(ctx, inst, all); err != nil {
			errs = append(errs, fmt.Errorf("tenant %s: %w", inst.tenant, err))
		}
	}
	return errors.Join(errs...)
}

func (i *Ingester) sweepInstance(ctx context.Context, inst *instance, all bool) error {
	now := i.now()
	var (
		batch      []storage.Chunk
		items      []flushItem
		batchBytes int
		errs       []error
	)
	write := func() {
		if len(batch) == 0 {
			return
		}
		if err := i.store.PutChunks(ctx, inst.tenant, batch); err != nil {
			i.m.flushFailures.Inc()
			errs = append(errs, err)
		} else {
			flushed := i.now()
			for _, it := range items {
				it.st.mtx.Lock()
				i.m.chunksFlushed.WithLabelValues(it.cd.reason).Inc()
				i.m.chunkBytes.Add(float64(len(it.cd.data)))
				it.cd.flushed = flushed
				it.cd.data = nil
				it.st.mtx.Unlock()
			}
		}
		batch, items, batchBytes = batch[:0], items[:0], 0
	}

	for _, st := range inst.snapshot() {
		st.mtx.Lock()
		st.cutDue(now, &i.cfg, all, i)
		for _, cd := range st.chunks {
			if cd.open || !cd.flushed.IsZero() {
				continue
			}
			if cd.data == nil {
				data, err := cd.c.Encode()
				if err != nil {
					st.mtx.Unlock()
					return fmt.Errorf("encode chunk of %s: %w", st.key, err)
				}
				cd.data = data
			}
			batch = append(batch, storage.Chunk{Labels: st.lbls, Fingerprint: st.fp, Data: cd.data, Ref: chunkRef(cd)})
			items = append(items, flushItem{st: st, cd: cd})
			batchBytes += len(cd.data)
		}
		empty := st.forgetFlushed(now, i.cfg.ChunkRetainPeriod, i)
		st.mtx.Unlock()
		if empty {
			inst.removeIfEmpty(st)
		}
		if len(batch) >= maxBatchChunks || batchBytes >= maxBatchBytes {
			write()
		}
	}
	write()
	return errors.Join(errs...)
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
			ing.m.memoryChunks.Dec()
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
