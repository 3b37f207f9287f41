package api

import (
	"cmp"
	"slices"
	"strconv"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/skald-logs/skald/pkg/iter"
	"github.com/skald-logs/skald/pkg/logproto"
	"github.com/skald-logs/skald/pkg/logql"
)

// Messages go to the connection through a buffer of tailMaxBufferedMessages;
// when the client reads too slowly and the buffer is full, entries are
// dropped and reported in the next message sent, up to tailMaxDroppedEntries
// of them, as Loki does. Entries the ingesters or the querier dropped are
// reported the same way.

// tailMessage is one WebSocket message: entries in time order, and the
// entries dropped since the last message sent.
type tailMessage struct {
	entries []iter.StreamEntry
	dropped []iter.StreamEntry
}

// tailSender queues the tail's batches as messages without blocking. It is
// used by one goroutine.
type tailSender struct {
	out     chan<- *tailMessage
	dropped []iter.StreamEntry
}

// send queues entries in messages of at most tailMaxEntriesPerMessage. A
// message that finds the buffer full is dropped and its entries reported
// with the next message that gets through, after the dropped ones passed in.
func (s *tailSender) send(entries, dropped []iter.StreamEntry) error {
	s.drop(dropped)
	for len(entries) > 0 {
		n := min(len(entries), tailMaxEntriesPerMessage)
		m := &tailMessage{entries: entries[:n:n], dropped: s.dropped}
		entries = entries[n:]
		select {
		case s.out <- m:
			s.dropped = nil
		default:
			s.drop(m.entries)
		}
	}
	return nil
}

// drop records entries as dropped, up to tailMaxDroppedEntries: their
// labels, timestamps and metadata.
func (s *tailSender) drop(entries []iter.StreamEntry) {
	for i := range entries {
		if len(s.dropped) >= tailMaxDroppedEntries {
			return
		}
		e := &entries[i]
		s.dropped = append(s.dropped, iter.StreamEntry{
			Entry: logproto.Entry{
				Timestamp: e.Timestamp, StructuredMetadata: e.StructuredMetadata, Parsed: e.Parsed,
			},
			Labels: e.Labels, Hash: e.Hash,
		})
	}
}

// flattenStreams returns the entries of streams in time order (ties by
// stream labels, then line).
func flattenStreams(streams []logql.Stream) []iter.StreamEntry {
	n := 0
	for i := range streams {
		n += len(streams[i].Entries)
	}
	out := make([]iter.StreamEntry, 0, n)
	for i := range streams {
		h := streams[i].Labels.Hash()
		for _, e := range streams[i].Entries {
			out = append(out, iter.StreamEntry{Entry: e, Labels: streams[i].Labels, Hash: h})
		}
	}
	slices.SortStableFunc(out, func(a, b iter.StreamEntry) int {
		if c := cmp.Compare(a.Timestamp, b.Timestamp); c != 0 {
			return c
		}
		if c := labels.Compare(a.Labels, b.Labels); c != 0 {
			return c
		}
		return cmp.Compare(a.Line, b.Line)
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
			dst = appendLabels(dst, e.Labels)
		} else {
			dst = appendLabels(dst, mergedLabels(b, e))
		}
		dst = append(dst, `,"values":[`...)
		dst = appendEntry(dst, &e.Entry, false, categorize, &scratch)
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
			dst = strconv.AppendInt(dst, e.Timestamp, 10)
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
func mergedLabels(b *labels.Builder, e *iter.StreamEntry) labels.Labels {
	if len(e.StructuredMetadata) == 0 && len(e.Parsed) == 0 {
		return e.Labels
	}
	b.Reset(e.Labels)
	for _, l := range e.StructuredMetadata {
		b.Set(l.Name, l.Value)
	}
	for _, l := range e.Parsed {
		b.Set(l.Name, l.Value)
	}
	return b.Labels()
}
