package chunk

import (
	"fmt"
	"sync"

	"github.com/skald-logs/skald/pkg/logproto"
)

// EntryIterator iterates the entries of a chunk within a time range.
//
// Forward iteration yields ascending timestamps, entries of equal timestamp
// in arrival order; backward iteration yields exactly the reverse. Iterators
// reuse their memory: the values returned by At, including the line bytes
// and the metadata slice, are valid only until the next call to Next and
// must not be modified. The metadata strings themselves may be kept.
type EntryIterator interface {
	// Next advances to the next entry and reports whether there is one.
	Next() bool
	// At returns the current entry; sm is nil if it has no metadata.
	At() (ts int64, line []byte, sm []logproto.LabelAdapter)
	// Err returns the error that stopped iteration, if any.
	Err() error
	// Close releases the iterator's buffers; Next returns false afterwards.
	Close() error
}

type emptyIterator struct{}

func (emptyIterator) Next() bool                                   { return false }
func (emptyIterator) At() (int64, []byte, []logproto.LabelAdapter) { return 0, nil, nil }
func (emptyIterator) Err() error                                   { return nil }
func (emptyIterator) Close() error                                 { return nil }

// entrySource is one sorted input of a mergeIter.
type entrySource interface {
	next() bool
	at() (int64, []byte, []logproto.LabelAdapter)
	error() error
}

// blockIter iterates the entries of one decompressed block whose
// timestamps lie in the scan's range, in its direction, keeping only those
// its matcher accepts.
type blockIter struct {
	d       blockData
	forward bool
	sel     []int32 // with a matcher: the accepted entries, ascending
	useSel  bool
	i, end  int // next position and the one past the last, in direction
	cur     int // current entry
	err     error
}

// reset starts iterating the payload of the block m, of the given format
// version.
func (it *blockIter) reset(payload []byte, m *blockMeta, version byte, s *scan) {
	it.forward, it.err, it.useSel = s.forward, nil, s.m != nil
	it.sel = it.sel[:0]
	it.i, it.end = 0, 0
	if s.m != nil && version != version1 && !s.m.first(payload[linesStart(m):]) {
		// No literal occurs anywhere in the block's lines.
		if m.mint >= s.from && m.maxt <= s.through {
			s.skipped(m.entries, m.lineBytes)
			return
		}
		if it.err = it.d.decode(payload, m, version); it.err == nil {
			lo, hi := it.d.search(s.from, false), it.d.search(s.through, true)
			it.d.skip(s, lo, hi, nil)
		}
		return
	}
	if it.err = it.d.decode(payload, m, version); it.err != nil {
		return
	}
	lo, hi := it.d.search(s.from, false), it.d.search(s.through, true)
	if s.m == nil {
		if it.forward {
			it.i, it.end = lo, hi
		} else {
			it.i, it.end = hi-1, lo-1
		}
		return
	}
	if version == version1 {
		for e := lo; e < hi; e++ {
			if _, line, _ := it.d.at(e); s.m.line(line) {
				it.sel = append(it.sel, int32(e))
			}
		}
	} else {
		it.sel = s.m.entries(&it.d, lo, hi, it.sel)
	}
	it.d.skip(s, lo, hi, it.sel)
	if it.forward {
		it.i, it.end = 0, len(it.sel)
	} else {
		it.i, it.end = len(it.sel)-1, -1
	}
}

// skip counts the entries in [lo, hi) that are not in sel (ascending).
func (d *blockData) skip(s *scan, lo, hi int, sel []int32) {
	if s.skipLines == nil && s.skipBytes == nil {
		return
	}
	n, b := 0, 0
	for e := lo; e < hi; e++ {
		if len(sel) > 0 && int(sel[0]) == e {
			sel = sel[1:]
			continue
		}
		n++
		b += int(d.end[e] - d.start[e])
	}
	s.skipped(n, b)
}

func (it *blockIter) next() bool {
	if it.i == it.end {
		return false
	}
	k := it.i
	if it.forward {
		it.i++
	} else {
		it.i--
	}
	if it.useSel {
		k = int(it.sel[k])
	}
	it.cur = k
	return true
}

func (it *blockIter) at() (int64, []byte, []logproto.LabelAdapter) { return it.d.at(it.cur) }
func (it *blockIter) error() error                                 { return it.err }

// blockReader is a decompression buffer with a block iterator over it.
// Readers are pooled: decoding into memory that was used a moment ago is
// faster than into fresh memory, and a reader holds about a block's worth.
type blockReader struct {
	buf []byte
	bi  blockIter
}

var readerPool = sync.Pool{New: func() any { return new(blockReader) }}

func getReader() *blockReader { return readerPool.Get().(*blockReader) }

func putReader(r *blockReader) {
	d := &r.bi.d
	if cap(r.buf) > 2*maxBlockPayload || cap(d.ts) > 2*maxBlockPayload/minEntryLen {
		return // an outsized block: let it go
	}
	// Drop the references to the block's memory and strings.
	d.payload = nil
	clear(d.sets)
	clear(d.arena)
	clear(d.syms)
	readerPool.Put(r)
}

// maxBlockPayload is the payload size of a default block, give or take.
const maxBlockPayload = DefaultBlockSize + DefaultBlockSize/4

// open decompresses the block's data into r and starts iterating it.
func (r *blockReader) open(dec codec, data []byte, m *blockMeta, version byte, s *scan) error {
	n := m.payloadLen
	if cap(r.buf) < n {
		r.buf = make([]byte, n, n+n/8)
	}
	r.buf = r.buf[:n]
	if err := dec.decode(r.buf, data); err != nil {
		return fmt.Errorf("%w: block at byte %d: %v", ErrCorrupt, m.offset, err)
	}
	r.bi.reset(r.buf, m, version, s)
	return nil
}

// source is a sorted run of entries that mergeIter opens when it needs it:
// a cut block (decompressed on open) or a head snapshot.
type source struct {
	rank       int // arrival rank: blocks in cut order, the head last
	mint, maxt int64
	blk        *block // nil for the head
	head       headSnapshot
}

type cursor struct {
	rank int
	ts   int64
	src  entrySource
	r    *blockReader // for a block
	hi   headIter
}

// mergeIter merges sources that may overlap in time (a MemChunk's blocks
// and head). A source is opened only when its first entry in iteration
// order could be next, so sources that do not overlap are decompressed one
// at a time. Ties are broken by arrival rank, which keeps entries of equal
// timestamp in arrival order.
type mergeIter struct {
	codec codec
	scan  scan

	pending []source // not opened yet, in opening order
	heap    []*cursor
	cur     *cursor
	free    []*cursor // finished block cursors, to reuse with their readers

	ts   int64
	line []byte
	sm   []logproto.LabelAdapter
	err  error
	done bool
}

func (it *mergeIter) less(a, b *cursor) bool {
	if a.ts != b.ts {
		return (a.ts < b.ts) == it.scan.forward
	}
	return (a.rank < b.rank) == it.scan.forward
}

func (it *mergeIter) push(c *cursor) {
	h := append(it.heap, c)
	i := len(h) - 1
	for i > 0 {
		p := (i - 1) / 2
		if !it.less(h[i], h[p]) {
			break
		}
		h[i], h[p] = h[p], h[i]
		i = p
	}
	it.heap = h
}

func (it *mergeIter) pop() *cursor {
	h := it.heap
	top := h[0]
	n := len(h) - 1
	h[0] = h[n]
	h[n] = nil
	h = h[:n]
	for i := 0; ; {
		l := 2*i + 1
		if l >= n {
			break
		}
		if r := l + 1; r < n && it.less(h[r], h[l]) {
			l = r
		}
		if !it.less(h[l], h[i]) {
			break
		}
		h[i], h[l] = h[l], h[i]
		i = l
	}
	it.heap = h
	return top
}

func (it *mergeIter) open(s *source) *cursor {
	if s.blk == nil {
		c := &cursor{rank: s.rank}
		c.hi.reset(s.head, &it.scan)
		c.src = &c.hi
		return c
	}
	var c *cursor
	if n := len(it.free); n > 0 {
		c, it.free = it.free[n-1], it.free[:n-1]
	} else {
		c = &cursor{r: getReader()}
	}
	c.rank = s.rank
	if err := c.r.open(it.codec, s.blk.data, &s.blk.meta, version2, &it.scan); err != nil {
		it.err = err
		it.free = append(it.free, c)
		return nil
	}
	c.src = &c.r.bi
	return c
}

// due reports whether source s must be opened before the entry at ts is
// returned: its first entry in iteration order could come before or at ts.
func (it *mergeIter) due(s *source, ts int64) bool {
	if it.scan.forward {
		return s.mint <= ts
	}
	return s.maxt >= ts
}

// advance moves c to its next entry and puts it back into the heap, or
// retires it.
func (it *mergeIter) advance(c *cursor) {
	if c.src.next() {
		c.ts, _, _ = c.src.at()
		it.push(c)
		return
	}
	it.retire(c)
}

// retire records c's error, if any, and keeps a block cursor for reuse.
func (it *mergeIter) retire(c *cursor) {
	if err := c.src.error(); err != nil {
		it.err = err
	}
	if c.r != nil {
		it.free = append(it.free, c)
	}
}

func (it *mergeIter) Next() bool {
	if it.err != nil || it.done {
		return false
	}
	if c := it.cur; c != nil {
		it.cur = nil
		// Fast path: the only open source that can be next stays current.
		if len(it.heap) == 0 && c.src.next() {
			c.ts, it.line, it.sm = c.src.at()
			if len(it.pending) == 0 || !it.due(&it.pending[0], c.ts) {
				it.cur, it.ts = c, c.ts
				return true
			}
			it.push(c)
		} else if len(it.heap) == 0 {
			it.retire(c)
		} else {
			it.advance(c)
		}
	}
	for it.err == nil && len(it.pending) > 0 {
		s := &it.pending[0]
		if len(it.heap) > 0 && !it.due(s, it.heap[0].ts) {
			break
		}
		it.pending = it.pending[1:]
		if c := it.open(s); c != nil {
			it.advance(c)
		}
	}
	if it.err != nil || len(it.heap) == 0 {
		it.release()
		return false
	}
	it.cur = it.pop()
	it.ts, it.line, it.sm = it.cur.src.at()
	return true
}

func (it *mergeIter) At() (int64, []byte, []logproto.LabelAdapter) { return it.ts, it.line, it.sm }
func (it *mergeIter) Err() error                                   { return it.err }

// release returns the readers to their pool; the iterator is done.
func (it *mergeIter) release() {
	it.done = true
	if it.cur != nil {
		it.heap = append(it.heap, it.cur)
	}
	for _, c := range append(it.heap, it.free...) {
		if c.r != nil {
			putReader(c.r)
			c.r = nil
		}
	}
	it.pending, it.heap, it.cur, it.free = nil, nil, nil, nil
	it.line, it.sm = nil, nil
}

func (it *mergeIter) Close() error {
	if !it.done {
		it.release()
	}
	return nil
}
