package api

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/skald-logs/skald/pkg/logproto"
	"github.com/skald-logs/skald/pkg/logql"
)

// appendQueryResponse appends the JSON answer to query and query_range:
//
//	{"status":"success","warnings":[…],"data":{"resultType":…,
//	 "encodingFlags":["categorize-labels"],"result":…,"stats":{…}}}
//
// warnings only when present, encodingFlags only for categorized streams.
// dir orders the entries of streams that merge (see buildStreams).
func appendQueryResponse(dst []byte, res *logql.Result, dir logproto.Direction, categorize bool) ([]byte, error) {
	dst = append(dst, `{"status":"success",`...)
	if len(res.Warnings) > 0 {
		dst = append(dst, `"warnings":`...)
		dst = appendStrings(dst, res.Warnings)
		dst = append(dst, ',')
	}
	dst = append(dst, `"data":{"resultType":`...)
	switch res.Type {
	case logql.ValueStreams:
		dst = append(dst, `"streams"`...)
		if categorize {
			dst = append(dst, `,"encodingFlags":["categorize-labels"]`...)
		}
		dst = append(dst, `,"result":`...)
		dst = appendStreams(dst, buildStreams(res.Streams, dir, categorize), categorize)
	case logql.ValueMatrix:
		dst = append(dst, `"matrix","result":`...)
		dst = appendMatrix(dst, res.Matrix)
	case logql.ValueVector:
		dst = append(dst, `"vector","result":`...)
		dst = appendVector(dst, res.Vector)
	case logql.ValueScalar:
		dst = append(dst, `"scalar","result":`...)
		dst = appendPoint(dst, res.Scalar.T, res.Scalar.V)
	default:
		return dst, fmt.Errorf("unsupported query result type %q", res.Type)
	}
	dst = append(dst, `,"stats":`...)
	dst = appendStats(dst, &res.Stats)
	dst = append(dst, "}}"...)
	if res.Type == logql.ValueStreams {
		// Loki ends streams answers with a newline and metric answers
		// without one; keep the bytes identical.
		dst = append(dst, '\n')
	}
	return dst, nil
}

// outStream is one stream object of a streams result. Its entries are
// either one engine stream's entries as given (whole) or pointers to
// entries of the engine's streams (refs): no entry is copied.
type outStream struct {
	key    string // labels in Prometheus text form; the sort key
	labels labels.Labels
	whole  []logproto.Entry
	refs   []*logproto.Entry
	src    int  // index of the last engine stream that added entries
	merged bool // entries come from more than one engine stream
}

// toRefs switches the stream object to refs, so more entries can join.
func (s *outStream) toRefs() {
	if s.whole == nil {
		return
	}
	s.refs = make([]*logproto.Entry, len(s.whole), 2*len(s.whole))
	for i := range s.whole {
		s.refs[i] = &s.whole[i]
	}
	s.whole = nil
}

// buildStreams turns the engine's streams into the stream objects Loki
// returns, sorted by their label string as Loki sorts them.
//
// Categorized, a stream object is an engine stream: its labels, and each
// entry keeps its structured metadata and parsed labels apart. Otherwise
// each entry's structured metadata and parsed labels are merged into the
// stream labels (later wins: stream labels < structured metadata < parsed;
// an empty value removes the label), and entries whose merged label sets
// differ go to different stream objects. Entries keep the engine's order;
// when two engine streams land in one object their entries are merged by
// timestamp in the query's direction.
func buildStreams(in []logql.Stream, dir logproto.Direction, categorize bool) []outStream {
	out := make([]outStream, 0, len(in))
	index := make(map[string]int, len(in))
	// group returns the index of the stream object for ls (key = its
	// string form, computed when empty) and whether it is new, marking an
	// existing one as merged when another engine stream (src) joins it.
	group := func(ls labels.Labels, key string, src int) (int, bool) {
		if key == "" {
			key = ls.String()
		}
		i, ok := index[key]
		if !ok {
			index[key] = len(out)
			out = append(out, outStream{key: key, labels: ls, src: src})
			return len(out) - 1, true
		}
		if out[i].src != src {
			out[i].merged = true
			out[i].src = src
		}
		return i, false
	}

	var (
		sig     []byte
		groups  = map[string]int{} // entry signature -> stream object, per engine stream
		builder = labels.NewBuilder(labels.EmptyLabels())
	)
	for src := range in {
		s := &in[src]
		if categorize || !hasEntryLabels(s.Entries) {
			i, isNew := group(s.Labels, "", src)
			if isNew {
				out[i].whole = s.Entries // the common case: nothing to copy
				continue
			}
			o := &out[i]
			o.toRefs()
			for j := range s.Entries {
				o.refs = append(o.refs, &s.Entries[j])
			}
			continue
		}
		clear(groups)
		for j := range s.Entries {
			e := &s.Entries[j]
			sig = appendEntrySignature(sig[:0], e)
			i, ok := groups[string(sig)]
			if !ok {
				builder.Reset(s.Labels)
				for _, l := range e.StructuredMetadata {
					builder.Set(l.Name, l.Value)
				}
				for _, l := range e.Parsed {
					builder.Set(l.Name, l.Value)
				}
				i, _ = group(builder.Labels(), "", src)
				out[i].toRefs()
				groups[string(sig)] = i
			}
			out[i].refs = append(out[i].refs, e)
		}
	}

	for i := range out {
		if out[i].merged {
			sortEntries(out[i].refs, dir)
		}
	}
	slices.SortFunc(out, func(a, b outStream) int { return cmp.Compare(a.key, b.key) })
	return out
}

// hasEntryLabels reports whether any entry carries labels of its own.
func hasEntryLabels(entries []logproto.Entry) bool {
	for i := range entries {
		if len(entries[i].StructuredMetadata) > 0 || len(entries[i].Parsed) > 0 {
			return true
		}
	}
	return false
}

// appendEntrySignature appends an unambiguous encoding of the entry's
// structured metadata and parsed labels.
func appendEntrySignature(dst []byte, e *logproto.Entry) []byte {
	dst = appendPairsSignature(dst, e.StructuredMetadata)
	dst = append(dst, '|')
	return appendPairsSignature(dst, e.Parsed)
}

// appendPairsSignature appends each pair as <len>:<name><len>:<value>.
func appendPairsSignature(dst []byte, ls []logproto.LabelAdapter) []byte {
	for _, l := range ls {
		dst = strconv.AppendInt(dst, int64(len(l.Name)), 10)
		dst = append(dst, ':')
		dst = append(dst, l.Name...)
		dst = strconv.AppendInt(dst, int64(len(l.Value)), 10)
		dst = append(dst, ':')
		dst = append(dst, l.Value...)
	}
	return dst
}

// sortEntries orders entries by timestamp, newest first for backward.
func sortEntries(entries []*logproto.Entry, dir logproto.Direction) {
	if dir == logproto.Forward {
		slices.SortStableFunc(entries, func(a, b *logproto.Entry) int { return cmp.Compare(a.Timestamp, b.Timestamp) })
		return
	}
	slices.SortStableFunc(entries, func(a, b *logproto.Entry) int { return cmp.Compare(b.Timestamp, a.Timestamp) })
}

// appendStreams appends a streams result:
// [{"stream":{…},"values":[["<ns>","<line>"(,{categories})],…]},…].
func appendStreams(dst []byte, streams []outStream, categorize bool) []byte {
	var scratch []logproto.LabelAdapter
	dst = append(dst, '[')
	for i := range streams {
		s := &streams[i]
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = append(dst, `{"stream":`...)
		dst = appendLabels(dst, s.labels)
		dst = append(dst, `,"values":[`...)
		if s.refs != nil {
			for j, e := range s.refs {
				dst = appendEntry(dst, e, j > 0, categorize, &scratch)
			}
		} else {
			for j := range s.whole {
				dst = appendEntry(dst, &s.whole[j], j > 0, categorize, &scratch)
			}
		}
		dst = append(dst, "]}"...)
	}
	return append(dst, ']')
}

// appendEntry appends ["<ns>","<line>"] or, categorized,
// ["<ns>","<line>",{"structuredMetadata":{…},"parsed":{…}}] with each
// key left out when empty.
func appendEntry(dst []byte, e *logproto.Entry, comma, categorize bool, scratch *[]logproto.LabelAdapter) []byte {
	if comma {
		dst = append(dst, ',')
	}
	dst = append(dst, `["`...)
	dst = strconv.AppendInt(dst, e.Timestamp, 10)
	dst = append(dst, `",`...)
	dst = appendString(dst, e.Line, true)
	if categorize {
		dst = append(dst, ",{"...)
		if len(e.StructuredMetadata) > 0 {
			dst = append(dst, `"structuredMetadata":`...)
			dst = appendAdapters(dst, e.StructuredMetadata, scratch)
			if len(e.Parsed) > 0 {
				dst = append(dst, ',')
			}
		}
		if len(e.Parsed) > 0 {
			dst = append(dst, `"parsed":`...)
			dst = appendAdapters(dst, e.Parsed, scratch)
		}
		dst = append(dst, '}')
	}
	return append(dst, ']')
}

// appendMatrix appends [{"metric":{…},"values":[[<s>,"<v>"],…]},…].
func appendMatrix(dst []byte, m []logql.Series) []byte {
	dst = append(dst, '[')
	for i := range m {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = append(dst, `{"metric":`...)
		dst = appendLabels(dst, m[i].Metric)
		dst = append(dst, `,"values":[`...)
		for j, p := range m[i].Points {
			if j > 0 {
				dst = append(dst, ',')
			}
			dst = appendPoint(dst, p.T, p.V)
		}
		dst = append(dst, "]}"...)
	}
	return append(dst, ']')
}

// appendVector appends [{"metric":{…},"value":[<s>,"<v>"]},…].
func appendVector(dst []byte, v []logql.Sample) []byte {
	dst = append(dst, '[')
	for i := range v {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = append(dst, `{"metric":`...)
		dst = appendLabels(dst, v[i].Metric)
		dst = append(dst, `,"value":`...)
		dst = appendPoint(dst, v[i].T, v[i].V)
		dst = append(dst, '}')
	}
	return append(dst, ']')
}

// appendPoint appends [<unix seconds>,"<value>"] from a millisecond time.
func appendPoint(dst []byte, ms int64, v float64) []byte {
	dst = append(dst, '[')
	dst = appendUnixMillisAsSeconds(dst, ms)
	dst = append(dst, ',')
	dst = appendSampleValue(dst, v)
	return append(dst, ']')
}

// appendLabelsResponse appends {"status":"success","data":[…]}; Loki
// leaves data out when there are no values.
func appendLabelsResponse(dst []byte, values []string) []byte {
	if len(values) == 0 {
		return append(dst, "{\"status\":\"success\"}\n"...)
	}
	dst = append(dst, `{"status":"success","data":`...)
	dst = appendStrings(dst, values)
	return append(dst, "}\n"...)
}

// appendSeriesResponse appends {"status":"success","data":[{…},…]}.
func appendSeriesResponse(dst []byte, series []labels.Labels) []byte {
	dst = append(dst, `{"status":"success","data":[`...)
	for i, ls := range series {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = appendLabels(dst, ls)
	}
	return append(dst, "]}\n"...)
}

// appendIndexStats appends the bare index/stats object.
func appendIndexStats(dst []byte, st logproto.IndexStats) []byte {
	dst = append(dst, `{"streams":`...)
	dst = strconv.AppendUint(dst, st.Streams, 10)
	dst = append(dst, `,"chunks":`...)
	dst = strconv.AppendUint(dst, st.Chunks, 10)
	dst = append(dst, `,"bytes":`...)
	dst = strconv.AppendUint(dst, st.Bytes, 10)
	dst = append(dst, `,"entries":`...)
	dst = strconv.AppendUint(dst, st.Entries, 10)
	return append(dst, "}\n"...)
}
