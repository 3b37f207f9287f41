package ingester

import (
	"cmp"
	"context"
	"slices"

	"github.com/skald-logs/skald/pkg/chunk"
	"github.com/skald-logs/skald/pkg/logproto"
)

// The memory budget (-ingester.memory-budget).
//
// The ingester keeps an estimate of the heap its chunks take (memSize):
// for each chunk its compressed blocks, a 32-bit dedupe hash per entry, its
// head block, and the encoded form kept from encoding until the flush.
// Flushed chunks kept for queries count until they are dropped. A head
// block takes about 1.25 times its entries' size (an index entry per line,
// arenas grown by doubling), and once the chunk has cut a block it keeps
// its arenas at the size of a full block.
// TestMemoryEstimateTracksHeap holds the estimate to the heap measured.
//
// When a push takes the estimate to the budget, the flush loop runs a
// pressure sweep at once: it drops every flushed chunk still kept for
// queries, then cuts and flushes the chunks holding the most memory until
// the estimate is back at the low watermark, and drops them as soon as they
// are in the store. Cutting the largest chunks first frees the most memory
// per object written; the low watermark below the budget makes each sweep
// free enough that sweeps stay rare.
//
// The budget does not refuse pushes: if the store is failing, the chunks
// stay in memory (and in the WAL) up to -ingester.max-unflushed-bytes, which
// does.

// lowWatermarkShare: a pressure sweep flushes until the estimate is at
// budget*lowWatermarkShare/4.
const lowWatermarkShare = 2

// DefaultSingleBinaryMemoryBudget is the budget of the single binary (the
// app sets it when the flag is 0).
const DefaultSingleBinaryMemoryBudget = 16 << 20

// minPressureCut is the smallest open chunk a pressure sweep cuts (or a
// 64th of the budget, if less; twice as much when the chunks held
// outnumber twice what the budget holds at this size). With more streams
// than the budget holds at this size each, the chunks take more than the
// budget (this much or twice as much per chunk) rather than go to the
// store as a flood of tiny objects.
const minPressureCut = 64 << 10

// memSize is the heap estimate of cd. s.mtx must be held.
func (cd *chunkDesc) memSize() int64 {
	if cd.released {
		return 0
	}
	head := cd.headRaw
	if cd.c.Blocks() > 0 {
		head = max(head, cd.blockSize)
	}
	return int64(cd.blockBytes + 4*cd.c.Len() + head*5/4 + len(cd.data))
}

// append adds an entry to cd's chunk and keeps headRaw and blockBytes up
// to date. s.mtx must be held.
func (cd *chunkDesc) append(ts int64, line string, sm []logproto.LabelAdapter) (bool, error) {
	blocks := cd.c.Blocks()
	dup, err := cd.c.Append(ts, line, sm)
	if err != nil || dup {
		return dup, err
	}
	cd.headRaw += chunk.EntrySize(len(line), sm)
	if cut := cd.c.Blocks() - blocks; cut > 0 {
		// A cut takes at least BlockSize from the head: for entries in
		// time order, all but less than one entry. With the head (about)
		// empty, the compressed size is that of the blocks.
		cd.headRaw = max(0, cd.headRaw-cut*cd.blockSize)
		cd.blockBytes = cd.c.CompressedSize()
	}
	return false, nil
}

// account updates the unflushed-bytes and memory estimates for cd. s.mtx
// must be held.
func (i *Ingester) account(cd *chunkDesc) {
	var n int64
	if cd.flushed.IsZero() {
		n = int64(cd.c.CompressedSize() + len(cd.data))
	}
	if n != cd.accounted {
		i.unflushed.Add(n - cd.accounted)
		cd.accounted = n
	}
	if m := cd.memSize(); m != cd.memAccounted {
		i.chunkMem.Add(m - cd.memAccounted)
		cd.memAccounted = m
	}
}

// release forgets cd: it no longer counts in the estimates. The caller
// removes it from its stream. s.mtx must be held.
func (i *Ingester) release(cd *chunkDesc) {
	cd.released = true
	i.account(cd)
	i.chunkCount.Add(-1)
	i.m.memoryChunks.Dec()
}

// Smallest block size newChunkConfig picks.
const minBlockSize = 64 << 10

// newChunkConfig returns the config of a new chunk: the configured one,
// with a smaller block size when the head blocks of as many chunks as are
// held now would take more than half of the memory budget. A head block
// is compressed into a block when it reaches the block size, so smaller
// blocks keep more of each chunk compressed, and a chunk grows to more
// entries before a pressure sweep cuts it: with many streams that means
// fewer, larger chunk objects for the same memory, for a few percent more
// bytes on disk (docs/performance.md: 5 % at 64 KiB against 256 KiB).
func (i *Ingester) newChunkConfig() chunk.Config {
	cfg := i.chunkCfg
	// A full head takes about 1.25 times the block size.
	perHead := i.budget / 2 / (i.chunkCount.Load() + 1) * 4 / 5
	for cfg.BlockSize > minBlockSize && int64(cfg.BlockSize) > perHead {
		cfg.BlockSize = max(cfg.BlockSize/2, minBlockSize)
	}
	return cfg
}

// overBudget reports whether the chunks take the memory budget or more,
// and more than when the last pressure sweep could not get them below it.
func (i *Ingester) overBudget() bool {
	held := i.chunkMem.Load()
	if i.budget <= 0 || held < i.budget {
		if i.pressureAt.Load() != 0 {
			i.pressureAt.Store(0) // below the budget again: start afresh
		}
		return false
	}
	return held >= i.pressureAt.Load()
}

// relieve runs a pressure sweep. If it could not bring the chunks below the
// budget (the store is failing, or every open chunk is below the smallest a
// sweep cuts) the next one waits until they hold another quarter of the
// budget more: sweeps that cut nothing are not run for every push.
func (i *Ingester) relieve(ctx context.Context) error {
	i.m.pressureSweeps.Inc()
	err := i.sweep(ctx, sweepOptions{pressure: true, reason: reasonMemoryPressure})
	if held := i.chunkMem.Load(); held >= i.budget {
		i.pressureAt.Store(held + i.budget/4)
	} else {
		i.pressureAt.Store(0)
	}
	return err
}

// signalPressure wakes the flush loop for a pressure sweep, unless one is
// pending already.
func (i *Ingester) signalPressure() {
	select {
	case i.pressureCh <- struct{}{}:
	default:
	}
}

// pickForPressure chooses the open chunks a pressure sweep cuts: the
// largest, until what the sweep frees brings the estimate to the low
// watermark. Chunks that the sweep frees anyway (flushed ones kept for
// queries, cut ones waiting for the flush) count first. i.flushMtx must be
// held.
func (i *Ingester) pickForPressure() map[*chunkDesc]bool {
	excess := i.chunkMem.Load() - i.budget*lowWatermarkShare/4
	if excess <= 0 {
		return nil
	}
	type candidate struct {
		cd   *chunkDesc
		size int64
	}
	var open []candidate
	for _, inst := range i.allInstances() {
		for _, st := range inst.snapshot() {
			st.mtx.Lock()
			for _, cd := range st.chunks {
				switch {
				case cd.open:
					open = append(open, candidate{cd, cd.memAccounted})
				default: // flushed, or cut and waiting: freed by the sweep
					excess -= cd.memAccounted
				}
			}
			st.mtx.Unlock()
		}
	}
	slices.SortFunc(open, func(a, b candidate) int { return cmp.Compare(b.size, a.size) })
	pick := map[*chunkDesc]bool{}
	smallest := min(minPressureCut, i.budget/64)
	if i.chunkCount.Load()*minPressureCut > 2*i.budget {
		// The budget cannot hold even this much per chunk: the chunks
		// will take more than the budget anyway, and fewer, larger
		// objects cost less to write (on the filesystem store ~1 ms of
		// CPU per object; docs/performance.md).
		smallest *= 2
	}
	for _, c := range open {
		if excess <= 0 || c.size < smallest {
			break
		}
		pick[c.cd] = true
		excess -= c.size
	}
	return pick
}
