package logproto

import (
	"fmt"
	"math"
	"strings"
	"unsafe"

	"github.com/golang/snappy"
	"google.golang.org/protobuf/encoding/protowire"
)

// Field numbers of Loki's push messages (push.proto).
const (
	fieldPushStreams     = 1 // PushRequest.streams
	fieldStreamLabels    = 1 // StreamAdapter.labels
	fieldStreamEntries   = 2 // StreamAdapter.entries
	fieldStreamHash      = 3 // StreamAdapter.hash
	fieldEntryTimestamp  = 1 // EntryAdapter.timestamp
	fieldEntryLine       = 2 // EntryAdapter.line
	fieldEntryMetadata   = 3 // EntryAdapter.structuredMetadata
	fieldEntryParsed     = 4 // EntryAdapter.parsed
	fieldLabelName       = 1 // LabelPairAdapter.name
	fieldLabelValue      = 2 // LabelPairAdapter.value
	fieldTimestampSecond = 1 // google.protobuf.Timestamp.seconds
	fieldTimestampNanos  = 2 // google.protobuf.Timestamp.nanos
)

// DecodeSnappyPushRequest decodes the body of a protobuf push as shippers
// send it: a snappy block (not the framed format) holding a PushRequest.
// See UnmarshalPushRequest for the decoding; on a bad snappy block the
// error text is Loki's, "snappy: corrupt input". The strings of req alias
// the decompressed buffer, which nothing else references.
//
// The caller limits the size of compressed; snappy.DecodedLen tells the
// decompressed size before any allocation.
func DecodeSnappyPushRequest(compressed []byte, req *PushRequest) error {
	buf, err := snappy.Decode(nil, compressed)
	if err != nil {
		return &decodeError{msg: err.Error(), cause: err}
	}
	if len(buf) == 0 {
		req.Streams = req.Streams[:0]
		return nil
	}
	return unmarshalPush(buf, unsafe.String(unsafe.SliceData(buf), len(buf)), req)
}

// UnmarshalPushRequest decodes protobuf wire bytes of Loki's PushRequest
// (push.proto) into req, replacing its streams. It reuses the memory of
// req's slices (streams, entries): decode into a request whose previous
// content is no longer referenced. The strings of req alias one copy of b
// made here, so b may be reused after the call; a consumer that keeps a
// string beyond the request should clone it to free the body.
//
// Decoding follows protobuf rules: unknown fields, and known fields sent
// with another wire type, are skipped; for a repeated singular field the
// last one wins; timestamps that appear twice are merged. Strings are not
// checked for valid UTF-8 (as Loki's gogoproto code does not). Like Loki,
// a timestamp must lie in [0001-01-01, 10000-01-01) with nanos in
// [0, 1e9); an absent timestamp is 0. Timestamps beyond the int64
// nanosecond range (years 1678 to 2261) are clamped to it, so later
// validation refuses them as too old or too new, as Loki would.
//
// Errors wrap ErrMalformed and say where the problem is.
func UnmarshalPushRequest(b []byte, req *PushRequest) error {
	return unmarshalPush(b, string(b), req)
}

// protoDecoder decodes a push whose bytes are b and, for zero-copy
// strings, s: the same bytes as a string.
type protoDecoder struct {
	b        []byte
	s        string
	metadata pairArena
	parsed   pairArena
}

func unmarshalPush(b []byte, s string, req *PushRequest) error {
	d := protoDecoder{b: b, s: s}
	streams, err := d.push(req.Streams[:0])
	if err != nil {
		req.Streams = req.Streams[:0]
		return err
	}
	req.Streams = streams
	return nil
}

func (d *protoDecoder) push(streams []Stream) ([]Stream, error) {
	b := d.b
	for off := 0; off < len(b); {
		num, typ, n := consumeTag(b[off:])
		if n < 0 {
			return nil, d.errorf(off, loc{si: -1}, n)
		}
		off += n
		if num != fieldPushStreams || typ != protowire.BytesType {
			m := protowire.ConsumeFieldValue(num, typ, b[off:])
			if m < 0 {
				return nil, d.errorf(off, loc{si: -1}, m)
			}
			off += m
			continue
		}
		si := len(streams)
		start, end, err := d.consumeBytes(off, len(b), loc{si: si, ei: -1})
		if err != nil {
			return nil, err
		}
		if si < cap(streams) {
			streams = streams[:si+1]
		} else {
			streams = append(streams, Stream{})
		}
		if err := d.stream(start, end, si, &streams[si]); err != nil {
			return nil, err
		}
		off = end
	}
	return streams, nil
}

// loc locates a field for error messages: streams[si].entries[ei]field,
// with si or ei -1 when not inside a stream or an entry.
type loc struct {
	si, ei int
	field  string
}

func (l loc) String() string {
	if l.si < 0 {
		return ""
	}
	s := fmt.Sprintf(" (streams[%d]", l.si)
	if l.ei >= 0 {
		s += fmt.Sprintf(".entries[%d]", l.ei)
	}
	return s + l.field + ")"
}

// consumeTag is protowire.ConsumeTag refusing field numbers above
// protowire.MaxValidNumber, which only MessageSets use.
func consumeTag(b []byte) (protowire.Number, protowire.Type, int) {
	if len(b) > 0 && b[0] < 0x80 && b[0] >= 8 { // one byte, field number > 0
		return protowire.Number(b[0] >> 3), protowire.Type(b[0] & 7), 1
	}
	num, typ, n := protowire.ConsumeTag(b)
	if n >= 0 && num > protowire.MaxValidNumber {
		_, _, code := protowire.ConsumeTag([]byte{0}) // protowire's "invalid field number"
		return 0, 0, code
	}
	return num, typ, n
}

// consumeBytes reads the length-delimited value at off, which must end by
// limit, and returns its bounds.
func (d *protoDecoder) consumeBytes(off, limit int, l loc) (start, end int, err error) {
	b := d.b[off:limit]
	var size uint64
	var n int
	switch {
	case len(b) > 0 && b[0] < 0x80:
		size, n = uint64(b[0]), 1
	case len(b) > 1 && b[1] < 0x80:
		size, n = uint64(b[0]&0x7f)|uint64(b[1])<<7, 2
	default:
		if size, n = protowire.ConsumeVarint(b); n < 0 {
			return 0, 0, d.errorf(off, l, n)
		}
	}
	if size > uint64(len(b)-n) {
		_, code := protowire.ConsumeBytes(b) // protowire's "unexpected EOF"
		return 0, 0, d.errorf(off, l, code)
	}
	start = off + n
	return start, start + int(size), nil
}

func (d *protoDecoder) errorf(off int, l loc, code int) error {
	// protobuf-go writes "proto:" and a space or a no-break space.
	msg := strings.TrimLeft(strings.TrimPrefix(protowire.ParseError(code).Error(), "proto:"), " \u00a0")
	return malformedf("invalid push protobuf at offset %d%s: %s", off, l, msg)
}

// stream decodes the StreamAdapter in b[start:end] into st, reusing the
// memory of st.Entries.
func (d *protoDecoder) stream(start, end, si int, st *Stream) error {
	entries := st.Entries[:0]
	if n := countEntries(d.b[start:end]); cap(entries) < n {
		entries = make([]Entry, 0, n)
	}
	*st = Stream{}
	for off := start; off < end; {
		num, typ, n := consumeTag(d.b[off:end])
		if n < 0 {
			return d.errorf(off, loc{si: si, ei: -1}, n)
		}
		off += n
		switch {
		case num == fieldStreamLabels && typ == protowire.BytesType:
			s, e, err := d.consumeBytes(off, end, loc{si, -1, ".labels"})
			if err != nil {
				return err
			}
			st.Labels = d.s[s:e]
			off = e
		case num == fieldStreamEntries && typ == protowire.BytesType:
			s, e, err := d.consumeBytes(off, end, loc{si, len(entries), ""})
			if err != nil {
				return err
			}
			entries = append(entries, Entry{})
			if err := d.entry(s, e, si, len(entries)-1, &entries[len(entries)-1]); err != nil {
				return err
			}
			off = e
		case num == fieldStreamHash && typ == protowire.VarintType:
			v, m := protowire.ConsumeVarint(d.b[off:end])
			if m < 0 {
				return d.errorf(off, loc{si, -1, ".hash"}, m)
			}
			st.Hash = v
			off += m
		default:
			m := protowire.ConsumeFieldValue(num, typ, d.b[off:end])
			if m < 0 {
				return d.errorf(off, loc{si: si, ei: -1}, m)
			}
			off += m
		}
	}
	st.Entries = entries
	return nil
}

// countEntries counts the entries fields of a StreamAdapter, to size the
// entries slice; it stops early on malformed input, which decoding then
// reports.
func countEntries(b []byte) int {
	n := 0
	for len(b) > 0 {
		num, typ, m := consumeTag(b)
		if m < 0 {
			break
		}
		b = b[m:]
		if num == fieldStreamEntries && typ == protowire.BytesType {
			n++
		}
		if m = protowire.ConsumeFieldValue(num, typ, b); m < 0 {
			break
		}
		b = b[m:]
	}
	return n
}

func (d *protoDecoder) entry(start, end, si, ei int, e *Entry) error {
	var sec int64
	var nsec int32
	here := loc{si, ei, ""}
	for off := start; off < end; {
		num, typ, n := consumeTag(d.b[off:end])
		if n < 0 {
			return d.errorf(off, here, n)
		}
		off += n
		if typ != protowire.BytesType || num < fieldEntryTimestamp || num > fieldEntryParsed {
			m := protowire.ConsumeFieldValue(num, typ, d.b[off:end])
			if m < 0 {
				return d.errorf(off, here, m)
			}
			off += m
			continue
		}
		s, e2, err := d.consumeBytes(off, end, here)
		if err != nil {
			return err
		}
		switch num {
		case fieldEntryTimestamp:
			if err := d.timestamp(s, e2, &sec, &nsec, loc{si, ei, ".timestamp"}); err != nil {
				return err
			}
		case fieldEntryLine:
			e.Line = d.s[s:e2]
		case fieldEntryMetadata:
			name, value, err := d.labelPair(s, e2, loc{si, ei, ".structuredMetadata"})
			if err != nil {
				return err
			}
			d.metadata.add(LabelAdapter{Name: name, Value: value})
		case fieldEntryParsed:
			name, value, err := d.labelPair(s, e2, loc{si, ei, ".parsed"})
			if err != nil {
				return err
			}
			d.parsed.add(LabelAdapter{Name: name, Value: value})
		}
		off = e2
	}
	e.StructuredMetadata = d.metadata.take()
	e.Parsed = d.parsed.take()
	ts, err := timestampNanos(sec, nsec)
	if err != nil {
		return malformedf("invalid push protobuf%s: %v", loc{si, ei, ".timestamp"}, err)
	}
	e.Timestamp = ts
	return nil
}

// timestamp merges the google.protobuf.Timestamp in b[start:end] into
// sec and nsec.
func (d *protoDecoder) timestamp(start, end int, sec *int64, nsec *int32, path loc) error {
	for off := start; off < end; {
		num, typ, n := consumeTag(d.b[off:end])
		if n < 0 {
			return d.errorf(off, path, n)
		}
		off += n
		if typ == protowire.VarintType && (num == fieldTimestampSecond || num == fieldTimestampNanos) {
			v, m := protowire.ConsumeVarint(d.b[off:end])
			if m < 0 {
				return d.errorf(off, path, m)
			}
			if num == fieldTimestampSecond {
				*sec = int64(v)
			} else {
				*nsec = int32(v)
			}
			off += m
			continue
		}
		m := protowire.ConsumeFieldValue(num, typ, d.b[off:end])
		if m < 0 {
			return d.errorf(off, path, m)
		}
		off += m
	}
	return nil
}

func (d *protoDecoder) labelPair(start, end int, path loc) (name, value string, err error) {
	for off := start; off < end; {
		num, typ, n := consumeTag(d.b[off:end])
		if n < 0 {
			return "", "", d.errorf(off, path, n)
		}
		off += n
		if typ == protowire.BytesType && (num == fieldLabelName || num == fieldLabelValue) {
			s, e, err := d.consumeBytes(off, end, path)
			if err != nil {
				return "", "", err
			}
			if num == fieldLabelName {
				name = d.s[s:e]
			} else {
				value = d.s[s:e]
			}
			off = e
			continue
		}
		m := protowire.ConsumeFieldValue(num, typ, d.b[off:end])
		if m < 0 {
			return "", "", d.errorf(off, path, m)
		}
		off += m
	}
	return name, value, nil
}

// The range of google.protobuf.Timestamp that Loki accepts:
// [0001-01-01, 10000-01-01).
const (
	minTimestampSeconds = -62135596800
	maxTimestampSeconds = 253402300800
)

// timestampNanos converts a protobuf timestamp to Unix nanoseconds,
// clamping to the int64 range.
func timestampNanos(sec int64, nsec int32) (int64, error) {
	if sec < minTimestampSeconds || sec >= maxTimestampSeconds {
		return 0, fmt.Errorf("seconds %d out of range [0001-01-01, 10000-01-01)", sec)
	}
	if nsec < 0 || nsec >= 1e9 {
		return 0, fmt.Errorf("nanos %d out of range [0, 1e9)", nsec)
	}
	return unixNanos(sec, int64(nsec)), nil
}

// unixNanos returns sec*1e9+nsec for 0 <= nsec < 1e9, clamped to the
// int64 range.
func unixNanos(sec, nsec int64) int64 {
	const maxSec = math.MaxInt64 / 1_000_000_000   // 9223372036
	const minSec = math.MinInt64/1_000_000_000 - 1 // -9223372037
	switch {
	case sec > maxSec:
		return math.MaxInt64
	case sec < minSec:
		return math.MinInt64
	case sec == maxSec && nsec > math.MaxInt64-maxSec*1_000_000_000:
		return math.MaxInt64
	case sec == minSec && nsec < math.MinInt64-minSec*1_000_000_000:
		return math.MinInt64
	}
	// (sec+1)*1e9 + (nsec-1e9) never overflows on the way.
	return (sec+1)*1_000_000_000 + (nsec - 1_000_000_000)
}

// pairArena hands out the label pairs of consecutive entries from shared
// backing arrays, so that an entry's pairs cost no allocation of their
// own. Each slice it returns has its capacity capped, so appending to it
// never writes into a neighbour's pairs.
type pairArena struct {
	buf   []LabelAdapter
	start int // first pair of the entry being decoded
}

func (a *pairArena) add(p LabelAdapter) {
	if len(a.buf) == cap(a.buf) {
		pending := a.buf[a.start:]
		grown := make([]LabelAdapter, len(pending), max(2*cap(a.buf), 64, 2*len(pending)))
		copy(grown, pending)
		a.buf, a.start = grown, 0
	}
	a.buf = append(a.buf, p)
}

// take returns the pairs added since the last take, or nil.
func (a *pairArena) take() []LabelAdapter {
	if a.start == len(a.buf) {
		return nil
	}
	s := a.buf[a.start:len(a.buf):len(a.buf)]
	a.start = len(a.buf)
	return s
}
