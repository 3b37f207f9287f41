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

	mtx     sync.Mutex
	highest int64 // newest timestamp accepted
	chunks  []*chunkDesc
	dead    bool // removed from its instance; pushes must find or make a new one
}

type chunkDesc struct {
	c           *chunk.MemChunk
	window      int64 // start of the chunk's time window, Unix ns
	open        bool
	firstAppend time.Time
	lastAppend  time.Time
	flushed     time.Time // zero until written to the store
	reason      string    // why it was cut
	data        []byte    // encoded form, kept from encoding until flushed
}

// push appends entries and returns a message for those refused ("" if none).
// It reports false, having appended nothing, when the stream was removed.
func (s *stream) push(entries []logproto.Entry, now time.Time, ing *Ingester) (string, bool) {
	window := int64(ing.cfg.MaxChunkAge / 2)
	s.mtx.Lock()
	defer s.mtx.Unlock()
	if s.dead {
		return "", false
	}
	var refused int
	var lastErr string
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
		win := floorDiv(e.Timestamp, window) * window
		cd := s.openChunk(win)
		if cd != nil && !cd.c.SpaceFor(len(e.Line)) {
			s.cut(cd, "full", ing)
			cd = nil
		}
		if cd == nil {
			cd = &chunkDesc{c: chunk.NewMemChunk(ing.chunkCfg), window: win, open: true, firstAppend: now}
			s.chunks = append(s.chunks, cd)
			ing.m.memoryChunks.Inc()
		}
		dup, err := cd.c.Append(e.Timestamp, e.Line, e.StructuredMetadata)
		if err != nil {
			refused++
			lastErr = fmt.Sprintf("entry with timestamp %s ignored, reason: '%v'", time.Unix(0, e.Timestamp).UTC().String(), err)
			continue
		}
		if dup {
			ing.m.duplicates.Inc()
			continue
		}
		ing.m.linesAppended.Inc()
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

func (s *stream) openChunk(window int64) *chunkDesc {
	for i := len(s.chunks) - 1; i >= 0; i-- {
		if cd := s.chunks[i]; cd.open && cd.window == window {
			return cd
		}
	}
	return nil
}

// cut closes an open chunk; the next sweep flushes it. s.mtx must be held.
func (s *stream) cut(cd *chunkDesc, reason string, ing *Ingester) {
	cd.open = false
	cd.reason = reason
}

// cutDue closes the open chunks whose time is up; with all set it closes every
// open chunk. s.mtx must be held.
func (s *stream) cutDue(now time.Time, cfg *Config, all bool, ing *Ingester) {
	window := int64(cfg.MaxChunkAge / 2)
	for _, cd := range s.chunks {
		if !cd.open {
			continue
		}
		switch {
		case all:
			s.cut(cd, "forced", ing)
		case now.Sub(cd.lastAppend) >= cfg.ChunkIdlePeriod:
			s.cut(cd, "idle", ing)
		case now.Sub(cd.firstAppend) >= cfg.MaxChunkAge:
			s.cut(cd, "max_age", ing)
		case s.highest >= cd.window+2*window:
			s.cut(cd, "window_closed", ing)
		}
	}
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}
