package api

import (
	"cmp"
	"context"
	"hash/maphash"
	"slices"
	"strconv"
	"time"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/skald-logs/skald/pkg/logproto"
	"github.com/skald-logs/skald/pkg/logql"
)

// A tail polls the engine: it first sends the newest `limit` entries since
// `start`, then, every defaultTailPoll, the entries that appeared since. Each
// poll reads the window [previous end − tailLookback, now − delay_for), so
// an entry that reaches Skald a little after newer ones (a batching client,
// several clients) is still sent; entries already sent are recognised by
// (stream, timestamp, line, metadata) and skipped. An entry that arrives
// more than tailLookback later than the poll that should have seen it is
// missed; delay_for widens that margin as in Loki (only entries older than
// now − delay_for are read at all).
//
// Messages go to the connection through a buffer of tailMaxBufferedMessages;
// when the client reads too slowly and the buffer is full, entries are
// dropped and reported in the next message sent, up to tailMaxDroppedEntries
// of them, as Loki does.

// Timing and sizes of the polls.
const (
	defaultTailPoll = 500 * time.Millisecond
	tailLookback    = 5 * time.Second
	tailPageSize    = 1000 // entries per engine query
	tailMaxPerPoll  = tailMaxBufferedMessages * tailMaxEntriesPerMessage
)

// tailEntry is one entry with the labels of its stream (after the pipeline).
type tailEntry struct {
	labels labels.Labels
	entry  logproto.Entry
}

// tailMessage is one WebSocket message: entries in time order, and the
// entries dropped since the last message sent.
type tailMessage struct {
	entries []tailEntry
	dropped []tailEntry
}

// entryKey identifies an entry sent recently.
type entryKey struct {
	ts     int64
	stream uint64
	entry  uint64 // line and structured metadata
}

// tailer is the polling state of one tail. It is used by one goroutine.
type tailer struct {
	engine Engine
	tenant string
	p      tailParams
	every  time.Duration
	now    func() int64
	seed   maphash.Seed

	floor   int64 // entries older than this are never sent
	next    int64 // exclusive end of the window read last
	sent    map[entryKey]struct{}
	dropped []tailEntry
}

func newTailer(engine Engine, tenant string, p tailParams, every time.Duration, now func() int64) *tailer {
	return &tailer{
		engine: engine, tenant: tenant, p: p, every: every, now: now,
		seed: maphash.MakeSeed(),
		sent: map[entryKey]struct{}{},
	}
}

// run sends the history, then polls until ctx is done or a query fails.
func (t *tailer) run(ctx context.Context, out chan<- *tailMessage) error {
	entries, err := t.history(ctx)
	if err != nil {
		return err
	}
	t.emit(entries, out)
	timer := time.NewTimer(t.every)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-timer.C:
		}
		entries, behind, err := t.poll(ctx)
		if err != nil {
			return err
		}
		t.emit(entries, out)
		if behind {
			timer.Reset(0)
		} else {
			timer.Reset(t.every)
		}
	}
}

// history returns the newest p.limit entries of [start, now − delay), oldest
// first, as Loki starts a tail.
func (t *tailer) history(ctx context.Context) ([]tailEntry, error) {
	end := t.now() - int64(t.p.delayFor)
	t.floor, t.next = t.p.start, max(end, t.p.start)
	if end <= t.p.start {
		return nil, nil
	}
	res, err := t.engine.Query(ctx, t.tenant, logql.Params{
		Query: t.p.query, Start: t.p.start, End: end, Limit: t.p.limit, Direction: logproto.Backward,
	})
	if err != nil {
		return nil, err
	}
	entries := flattenStreams(res.Streams)
	if len(entries) > 0 && len(entries) >= int(t.p.limit) {
		// The limit cut the history: older entries, including others at
		// the oldest timestamp sent, stay unsent.
		t.floor = entries[0].entry.Timestamp + 1
	}
	for i := range entries {
		t.sent[t.key(&entries[i])] = struct{}{}
	}
	t.prune()
	return entries, nil
}

// poll returns the entries of the current window not sent yet, oldest
// first. behind reports that it stopped early (tailMaxPerPoll) and should
// be called again at once.
func (t *tailer) poll(ctx context.Context) (entries []tailEntry, behind bool, err error) {
	end := t.now() - int64(t.p.delayFor)
	from := max(t.floor, t.next-int64(tailLookback))
	if end <= from {
		return nil, false, nil
	}
	for cur := from; cur < end; {
		res, err := t.engine.Query(ctx, t.tenant, logql.Params{
			Query: t.p.query, Start: cur, End: end, Limit: tailPageSize, Direction: logproto.Forward,
		})
		if err != nil {
			return nil, false, err
		}
		page := flattenStreams(res.Streams)
		for i := range page {
			e := &page[i]
			if e.entry.Timestamp < t.floor {
				continue
			}
			k := t.key(e)
			if _, ok := t.sent[k]; ok {
				continue
			}
			t.sent[k] = struct{}{}
			entries = append(entries, *e)
		}
		if len(page) < tailPageSize {
			break
		}
		// A full page: read on from its last timestamp (entries there
		// that were on this page are known). A page of one timestamp
		// moves past it, losing the rest of that instant.
		if last := page[len(page)-1].entry.Timestamp; last > cur {
			cur = last
		} else {
			cur = last + 1
		}
		if len(entries) >= tailMaxPerPoll && cur < end {
			end, behind = cur, true
		}
	}
	t.next = max(t.next, end)
	t.prune()
	return entries, behind, nil
}

// prune forgets the entries no later window can hold.
func (t *tailer) prune() {
	oldest := max(t.floor, t.next-int64(tailLookback))
	for k := range t.sent {
		if k.ts < oldest {
			delete(t.sent, k)
		}
	}
}

func (t *tailer) key(e *tailEntry) entryKey {
	var h maphash.Hash
	h.SetSeed(t.seed)
	h.WriteString(e.entry.Line)
	for _, l := range e.entry.StructuredMetadata {
		h.WriteByte(0)
		h.WriteString(l.Name)
		h.WriteByte(0)
		h.WriteString(l.Value)
	}
	return entryKey{ts: e.entry.Timestamp, stream: e.labels.Hash(), entry: h.Sum64()}
}

// emit queues entries in messages of at most tailMaxEntriesPerMessage. A
// message that finds the buffer full is dropped and its entries reported
// with the next message that gets through.
func (t *tailer) emit(entries []tailEntry, out chan<- *tailMessage) {
	for len(entries) > 0 {
		n := min(len(entries), tailMaxEntriesPerMessage)
		m := &tailMessage{entries: entries[:n:n], dropped: t.dropped}
		entries = entries[n:]
		select {
		case out <- m:
			t.dropped = nil
		default:
			for _, e := range m.entries {
				if len(t.dropped) >= tailMaxDroppedEntries {
					break
				}
				t.dropped = append(t.dropped, tailEntry{labels: e.labels, entry: logproto.Entry{
					Timestamp: e.entry.Timestamp, StructuredMetadata: e.entry.StructuredMetadata, Parsed: e.entry.Parsed,
				}})
			}
		}
	}
}

// flattenStreams returns the entries of streams in time order (ties by
// stream labels, then line).
func flattenStreams(streams []logql.Stream) []tailEntry {
	n := 0
	for i := range streams {
		n += len(streams[i].Entries)
	}
	out := make([]tailEntry, 0, n)
	for i := range streams {
		for _, e := range streams[i].Entries {
			out = append(out, tailEntry{labels: streams[i].Labels, entry: e})
		}
	}
	slices.SortStableFunc(out, func(a, b tailEntry) int {
		if c := cmp.Compare(a.entry.Timestamp, b.entry.Timestamp); c != 0 {
			return c
		}
		if c := labels.Compare(a.labels, b.labels); c != 0 {
			return c
		}
		return cmp.Compare(a.entry.Line, b.entry.Line)
	})
	return out
}

// appendTailMessage appends a message as Loki writes it:
//
//	{"streams":[{"stream":{…},"values":[["<ns>","<line>"]]},…],
//	 "dropped_entries":[{"timestamp":"<ns>","labels":{…}}],
//	 "encodingFlags":["categorize-labels"]}
//
// with one stream object per entry, dropped_entries only when entries were
// dropped and encodingFlags only when categorizing. Without categorizing, an
// entry's structured metadata and parsed labels join its stream labels, as
// in query results.
func appendTailMessage(dst []byte, m *tailMessage, categorize bool) []byte {
	b := labels.NewBuilder(labels.EmptyLabels())
	var scratch []logproto.LabelAdapter
	dst = append(dst, `{"streams":[`...)
	for i := range m.entries {
		e := &m.entries[i]
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = append(dst, `{"stream":`...)
		if categorize {
			dst = appendLabels(dst, e.labels)
		} else {
			dst = appendLabels(dst, mergedLabels(b, e))
		}
		dst = append(dst, `,"values":[`...)
		dst = appendEntry(dst, &e.entry, false, categorize, &scratch)
		dst = append(dst, "]}"...)
	}
	dst = append(dst, ']')
	if len(m.dropped) > 0 {
		dst = append(dst, `,"dropped_entries":[`...)
		for i := range m.dropped {
			e := &m.dropped[i]
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = append(dst, `{"timestamp":"`...)
			dst = strconv.AppendInt(dst, e.entry.Timestamp, 10)
			dst = append(dst, `","labels":`...)
			dst = appendLabels(dst, mergedLabels(b, e))
			dst = append(dst, '}')
		}
		dst = append(dst, ']')
	}
	if categorize {
		dst = append(dst, `,"encodingFlags":["categorize-labels"]`...)
	}
	return append(dst, '}')
}

// mergedLabels is the entry's stream labels with its structured metadata
// and parsed labels set over them (an empty value removes the label).
func mergedLabels(b *labels.Builder, e *tailEntry) labels.Labels {
	if len(e.entry.StructuredMetadata) == 0 && len(e.entry.Parsed) == 0 {
		return e.labels
	}
	b.Reset(e.labels)
	for _, l := range e.entry.StructuredMetadata {
		b.Set(l.Name, l.Value)
	}
	for _, l := range e.entry.Parsed {
		b.Set(l.Name, l.Value)
	}
	return b.Labels()
}
