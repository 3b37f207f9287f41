package chunk

import (
	"fmt"

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
	bi   blockIter
	hi   headIter
	buf  []byte
}

// mergeIter merges sources that may overlap in time (a MemChunk's blocks
// and head). A source is opened only when its first entry in iteration
// order could be next, so sources that do not overlap are decompressed one
// at a time. Ties are broken by arrival rank, which keeps entries of equal
// timestamp in arrival order.
type mergeIter struct {
	codec         codec
	forward       bool
	from, through int64

	pending []source // not opened yet, in opening order
	heap    []*cursor
	cur     *cursor
	free    []*cursor // finished block cursors, to reuse with their buffers

	ts   int64
	line []byte
	sm   []logproto.LabelAdapter
	err  error
	done bool
}

func (it *mergeIter) less(a, b *cursor) bool {
	if a.ts != b.ts {
		return (a.ts < b.ts) == it.forward
	}
	return (a.rank < b.rank) == it.forward
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
		c.hi.reset(s.head, it.from, it.through, it.forward)
		c.src = &c.hi
		return c
	}
	var c *cursor
	if n := len(it.free); n > 0 {
		c, it.free = it.free[n-1], it.free[:n-1]
	} else {
		c = &cursor{}
	}
	c.rank = s.rank
	n := s.blk.meta.payloadLen
	if cap(c.buf) < n {
		c.buf = make([]byte, n, n+n/8)
	}
	c.buf = c.buf[:n]
	if err := it.codec.decode(c.buf, s.blk.data); err != nil {
		it.err = fmt.Errorf("%w: block at byte %d: %v", ErrCorrupt, s.blk.meta.offset, err)
		return nil
	}
	c.bi.reset(c.buf, &s.blk.meta, it.from, it.through, it.forward)
	c.src = &c.bi
	return c
}

// due reports whether source s must be opened before the entry at ts is
// returned: its first entry in iteration order could come before or at ts.
func (it *mergeIter) due(s *source, ts int64) bool {
	if it.forward {
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
		return
	}
	if c.src == &c.bi {
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
		return false
	}
	it.cur = it.pop()
	it.ts, it.line, it.sm = it.cur.src.at()
	return true
}

func (it *mergeIter) At() (int64, []byte, []logproto.LabelAdapter) { return it.ts, it.line, it.sm }
func (it *mergeIter) Err() error                                   { return it.err }

func (it *mergeIter) Close() error {
	it.done = true
	it.pending, it.heap, it.cur, it.free = nil, nil, nil, nil
	it.line, it.sm = nil, nil
	return nil
}
