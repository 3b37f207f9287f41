package ingester

import (
	"fmt"
	"sync"
	"time"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/skald-logs/skald/pkg/chunk"
	"github.com/skald-logs/skald/pkg/logproto"
)

// stream holds the chunks of one stream.
//
// Chunks are bound to aligned time windows of half the maximum chunk age: an
// entry goes to the open chunk of its timestamp's window. A window's chunk is
// cut when it is full, idle, older than the maximum chunk age, or when the
// stream has moved so far past the window that no entry for it can be
// accepted any more. The rule depends mostly on the entries, so replicas that
// receive the same pushes cut the same chunks.
type stream struct {
	lbls labels.Labels
	key  string
	fp   uint64
	ref  uint64 // names the stream in the WAL

	mtx     sync.Mutex
	highest int64 // newest timestamp accepted
	chunks  []*chunkDesc
	dead    bool        // removed from its instance; pushes must find or make a new one
	tail    *streamTail // the live tails that follow the stream (tail.go)
}

type chunkDesc struct {
	c           *chunk.MemChunk
	id          uint64 // names the chunk in the WAL
	window      int64  // start of the chunk's time window, Unix ns
	open        bool
	firstAppend time.Time
	lastAppend  time.Time
	flushed     time.Time // zero until written to the store
	reason      string    // why it was cut
	data        []byte    // encoded form, kept from encoding until flushed
	// headRaw estimates the uncompressed bytes (chunk.EntrySize) of the
	// chunk's head block: appended since the last block was cut.
	headRaw      int
	blockSize    int   // of the chunk's blocks (see Ingester.newChunkConfig)
	blockBytes   int   // compressed bytes of the cut blocks (estimate)
	accounted    int64 // bytes counted in Ingester.unflushed
	memAccounted int64 // bytes counted in Ingester.chunkMem
	released     bool  // removed from its stream
}

// push appends entries, logging what it accepts to wl and offering it to
// the live tails of tails that follow the stream, and returns a message for
// those refused ("" if none). It reports false, having appended nothing,
// when the stream was removed.
func (s *stream) push(entries []logproto.Entry, now time.Time, ing *Ingester, wl *walWriter, tails *tailSet) (string, bool) {
	window := int64(ing.cfg.MaxChunkAge / 2)
	s.mtx.Lock()
	defer s.mtx.Unlock()
	if s.dead {
		return "", false
	}
	// The records go to the WAL under the stream's lock, so the WAL holds
	// each stream's changes in the order they were made.
	wl.beginStream(s.ref)
	defer wl.endStream()
	var refused int
	var lastErr string
	var touched *chunkDesc // accounted when the push moves to another chunk
	var appended, dups int
	tl := s.tailing(tails)
	defer func() {
		if tl != nil {
			tl.deliver(s)
		}
		if touched != nil {
			ing.account(touched)
		}
		ing.m.linesAppended.Add(float64(appended))
		if dups > 0 {
			ing.m.duplicates.Add(float64(dups))
		}
	}()
	for i := range entries {
		e := &entries[i]
		if s.highest != 0 && e.Timestamp < s.highest-window {
			refused++
			lastErr = fmt.Sprintf("entry with timestamp %s ignored, reason: 'entry too far behind, entry timestamp is: %s, oldest acceptable timestamp is: %s'",
				time.Unix(0, e.Timestamp).UTC().String(),
				time.Unix(0, e.Timestamp).UTC().Format(time.RFC3339),
				time.Unix(0, s.highest-window).UTC().Format(time.RFC3339))
			continue
		}
		if size := chunk.EntrySize(len(e.Line), e.StructuredMetadata); size > chunk.MaxEntrySize {
			// Refused before a chunk is cut or made for it: a chunk
			// left empty would never be flushed.
			refused++
			lastErr = fmt.Sprintf("entry with timestamp %s ignored, reason: '%v: %d bytes, at most %d'",
				time.Unix(0, e.Timestamp).UTC().String(), chunk.ErrEntryTooLarge, size, chunk.MaxEntrySize)
			continue
		}
		win := floorDiv(e.Timestamp, window) * window
		cd := s.openChunk(win)
		if cd != nil && !cd.c.SpaceFor(len(e.Line)) {
			s.cut(cd, reasonFull, ing)
			wl.cut(cd)
			cd = nil
		}
		if cd == nil {
			cd = s.newChunk(ing.nextChunk.Add(1), win, now, ing)
		}
		if cd != touched {
			if touched != nil {
				ing.account(touched)
			}
			touched = cd
		}
		dup, err := cd.append(e.Timestamp, e.Line, e.StructuredMetadata)
		if err != nil {
			refused++
			lastErr = fmt.Sprintf("entry with timestamp %s ignored, reason: '%v'", time.Unix(0, e.Timestamp).UTC().String(), err)
			continue
		}
		if dup {
			dups++
			continue
		}
		wl.entry(cd.id, e)
		appended++
		if tl != nil {
			tl.pending = append(tl.pending, e)
		}
		cd.lastAppend = now
		if e.Timestamp > s.highest {
			s.highest = e.Timestamp
		}
	}
	if refused == 0 {
		return "", true
	}
	return fmt.Sprintf("%s,\ntotal ignored: %d out of %d for stream: %s", lastErr, refused, len(entries), s.key), true
}

// newChunk adds an open chunk. s.mtx must be held.
func (s *stream) newChunk(id uint64, window int64, now time.Time, ing *Ingester) *chunkDesc {
	cfg := ing.newChunkConfig()
	cd := &chunkDesc{c: chunk.NewMemChunk(cfg), blockSize: cfg.BlockSize, id: id, window: window, open: true, firstAppend: now, lastAppend: now}
	s.chunks = append(s.chunks, cd)
	ing.chunkCount.Add(1)
	ing.m.memoryChunks.Inc()
	return cd
}

func (s *stream) openChunk(window int64) *chunkDesc {
	for i := len(s.chunks) - 1; i >= 0; i-- {
		if cd := s.chunks[i]; cd.open && cd.window == window {
			return cd
		}
	}
	return nil
}

// chunkByID returns the unflushed chunk with the WAL id, or nil. (A flushed
// chunk may share its id with a newer one: replay flushes and starts the
// chunk again when it reaches its memory ceiling.) s.mtx must be held.
func (s *stream) chunkByID(id uint64) *chunkDesc {
	for i := len(s.chunks) - 1; i >= 0; i-- {
		if cd := s.chunks[i]; cd.id == id && cd.flushed.IsZero() {
			return cd
		}
	}
	return nil
}

// cut closes an open chunk; the next sweep flushes it. s.mtx must be held.
func (s *stream) cut(cd *chunkDesc, reason string, ing *Ingester) {
	if !cd.open {
		return
	}
	cd.open = false
	cd.reason = reason
	if cd.flushed.IsZero() {
		ing.queued.Add(1)
	}
}

// cutDue closes the open chunks whose time is up, logging the cuts to wl;
// with opts.all set it closes every open chunk, and those in opts.pick.
// s.mtx must be held.
func (s *stream) cutDue(now time.Time, cfg *Config, opts *sweepOptions, ing *Ingester, wl *walWriter) {
	window := int64(cfg.MaxChunkAge / 2)
	for _, cd := range s.chunks {
		if !cd.open {
			continue
		}
		var reason string
		switch {
		case opts.all || opts.pick[cd]:
			reason = opts.reason
		case now.Sub(cd.lastAppend) >= cfg.ChunkIdlePeriod:
			reason = reasonIdle
		case now.Sub(cd.firstAppend) >= cfg.MaxChunkAge:
			reason = reasonMaxAge
		case s.highest >= cd.window+2*window:
			reason = reasonWindowClosed
		default:
			continue
		}
		s.cut(cd, reason, ing)
		wl.cut(cd)
	}
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}
