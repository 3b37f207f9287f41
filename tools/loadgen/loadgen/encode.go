package loadgen

import (
	"encoding/binary"
	"fmt"
	"strconv"
	"unicode/utf8"

	"github.com/golang/snappy"
)

// Format is a push body encoding.
type Format uint8

// The push encodings of Loki's /loki/api/v1/push.
const (
	// FormatProtobuf is a snappy-compressed protobuf PushRequest, what
	// Promtail, Alloy and most shippers send.
	FormatProtobuf Format = iota
	// FormatJSON is the JSON body: {"streams":[{"stream":{..},"values":[..]}]}.
	FormatJSON
)

// ParseFormat reads "snappy" (or "protobuf") or "json".
func ParseFormat(s string) (Format, error) {
	switch s {
	case "snappy", "protobuf":
		return FormatProtobuf, nil
	case "json":
		return FormatJSON, nil
	}
	return 0, fmt.Errorf("%w: unknown push format %q (want snappy or json)", ErrConfig, s)
}

// String returns the name ParseFormat accepts.
func (f Format) String() string {
	if f == FormatJSON {
		return "json"
	}
	return "snappy"
}

// ContentType is the Content-Type header of a body in this format.
func (f Format) ContentType() string {
	if f == FormatJSON {
		return "application/json"
	}
	return "application/x-protobuf"
}

// Encoder builds one push body at a time, reusing its buffers: call
// StartStream, Append for each entry, EndStream, for each stream, then Body.
// A stream must have at least one entry.
//
// The protobuf encoding is written by hand (the wire format of
// pkg/logproto/push.proto: PushRequest.streams = 1; StreamAdapter.labels = 1,
// .entries = 2; EntryAdapter.timestamp = 1, .line = 2; Timestamp.seconds = 1,
// .nanos = 2) because the generated code's Marshal allocates per entry; the
// tests check the bytes against the generated types.
type Encoder struct {
	format  Format
	body    []byte // the request being built (uncompressed)
	stream  []byte // the entries of the current stream (protobuf)
	labels  string
	out     []byte // the snappy-compressed body
	entries int
	first   bool // no stream written yet (JSON)
}

// NewEncoder returns an encoder of bodies in format f.
func NewEncoder(f Format) *Encoder {
	e := &Encoder{format: f}
	e.Reset()
	return e
}

// Reset starts a new body.
func (e *Encoder) Reset() {
	e.body = e.body[:0]
	e.stream = e.stream[:0]
	e.entries = 0
	e.first = true
	if e.format == FormatJSON {
		e.body = append(e.body, `{"streams":[`...)
	}
}

// StartStream begins a stream.
func (e *Encoder) StartStream(s *Stream) {
	switch e.format {
	case FormatJSON:
		if !e.first {
			e.body = append(e.body, ',')
		}
		e.first = false
		e.body = append(e.body, `{"stream":{`...)
		for i, p := range s.Pairs {
			if i > 0 {
				e.body = append(e.body, ',')
			}
			e.body = appendJSONString(e.body, p.Name)
			e.body = append(e.body, ':')
			e.body = appendJSONString(e.body, p.Value)
		}
		e.body = append(e.body, `},"values":[`...)
	default:
		e.labels = s.Labels
		e.stream = e.stream[:0]
		// StreamAdapter.labels
		e.stream = appendTag(e.stream, 1, 2)
		e.stream = binary.AppendUvarint(e.stream, uint64(len(s.Labels)))
		e.stream = append(e.stream, s.Labels...)
	}
	e.entries = 0
}

// Append adds an entry to the current stream.
func (e *Encoder) Append(ts int64, line []byte) {
	switch e.format {
	case FormatJSON:
		if e.entries > 0 {
			e.body = append(e.body, ',')
		}
		e.body = append(e.body, `["`...)
		e.body = strconv.AppendInt(e.body, ts, 10)
		e.body = append(e.body, `",`...)
		e.body = appendJSONString(e.body, line)
		e.body = append(e.body, ']')
	default:
		sec, nsec := uint64(ts/1e9), uint64(ts%1e9)
		if ts < 0 && nsec != 0 { // keep nanos in [0, 1e9)
			sec, nsec = uint64(ts/1e9-1), uint64(ts%1e9+1e9)
		}
		tsLen := 0
		if sec != 0 {
			tsLen += 1 + uvarintLen(sec)
		}
		if nsec != 0 {
			tsLen += 1 + uvarintLen(nsec)
		}
		entryLen := 1 + uvarintLen(uint64(tsLen)) + tsLen
		if len(line) > 0 { // proto3 leaves empty strings out
			entryLen += 1 + uvarintLen(uint64(len(line))) + len(line)
		}
		b := appendTag(e.stream, 2, 2) // StreamAdapter.entries
		b = binary.AppendUvarint(b, uint64(entryLen))
		b = appendTag(b, 1, 2) // EntryAdapter.timestamp
		b = binary.AppendUvarint(b, uint64(tsLen))
		if sec != 0 {
			b = appendTag(b, 1, 0)
			b = binary.AppendUvarint(b, sec)
		}
		if nsec != 0 {
			b = appendTag(b, 2, 0)
			b = binary.AppendUvarint(b, nsec)
		}
		if len(line) > 0 {
			b = appendTag(b, 2, 2) // EntryAdapter.line
			b = binary.AppendUvarint(b, uint64(len(line)))
			b = append(b, line...)
		}
		e.stream = b
	}
	e.entries++
}

// EndStream closes the current stream.
func (e *Encoder) EndStream() {
	switch e.format {
	case FormatJSON:
		e.body = append(e.body, "]}"...)
	default:
		e.body = appendTag(e.body, 1, 2) // PushRequest.streams
		e.body = binary.AppendUvarint(e.body, uint64(len(e.stream)))
		e.body = append(e.body, e.stream...)
	}
}

// Body returns the finished body; it is valid until the next Reset.
func (e *Encoder) Body() []byte {
	if e.format == FormatJSON {
		e.body = append(e.body, "]}"...)
		return e.body
	}
	n := snappy.MaxEncodedLen(len(e.body))
	if cap(e.out) < n {
		e.out = make([]byte, n)
	}
	e.out = snappy.Encode(e.out[:n], e.body)
	return e.out
}

// RawSize is the size of the uncompressed body built so far.
func (e *Encoder) RawSize() int { return len(e.body) }

func appendTag(b []byte, field, wire int) []byte {
	return binary.AppendUvarint(b, uint64(field<<3|wire))
}

func uvarintLen(v uint64) int {
	n := 1
	for v >= 0x80 {
		v >>= 7
		n++
	}
	return n
}

// appendJSONString appends s as a JSON string, escaping what JSON requires
// and replacing invalid UTF-8 with U+FFFD.
func appendJSONString[T string | []byte](dst []byte, s T) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' && c < utf8.RuneSelf {
			i++
			continue
		}
		if c < utf8.RuneSelf {
			dst = append(dst, s[start:i]...)
			switch c {
			case '"', '\\':
				dst = append(dst, '\\', c)
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(string(s[i:min(i+utf8.UTFMax, len(s))]))
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
			i++
			start = i
			continue
		}
		i += size
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}
