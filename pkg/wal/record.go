package wal

import (
	"encoding/binary"
	"fmt"
	"math"
	"unsafe"
)

// Type is the first byte of a record payload.
type Type uint8

// Record types. Series, Entries, Cut and Flushed are written to segments as
// the ingester works; Series and Chunk make up checkpoints.
const (
	// TypeSeries: a stream was created (tenant, stream ref, labels).
	TypeSeries Type = 1
	// TypeEntries: entries were appended to a stream, each to a chunk.
	TypeEntries Type = 2
	// TypeCut: chunks of a stream were closed.
	TypeCut Type = 3
	// TypeFlushed: chunks are durably in the object store.
	TypeFlushed Type = 4
	// TypeChunk: one unflushed chunk, in a checkpoint.
	TypeChunk Type = 5
)

func (t Type) String() string {
	switch t {
	case TypeSeries:
		return "series"
	case TypeEntries:
		return "entries"
	case TypeCut:
		return "cut"
	case TypeFlushed:
		return "flushed"
	case TypeChunk:
		return "chunk"
	}
	return fmt.Sprintf("type(%d)", uint8(t))
}

// Label is a structured-metadata pair.
type Label struct {
	Name, Value string
}

// Entry is one appended log entry and the chunk it went to.
type Entry struct {
	Chunk     uint64
	Timestamp int64
	Line      string
	Metadata  []Label
}

// ChunkCut is a chunk that was closed, and why (a code the ingester defines).
type ChunkCut struct {
	Chunk  uint64
	Reason uint8
}

// FlushedChunk names a chunk that is durably stored.
type FlushedChunk struct {
	Ref   uint64 // stream
	Chunk uint64
}

// ChunkState is an unflushed chunk in a checkpoint.
type ChunkState struct {
	Ref         uint64
	Chunk       uint64
	Window      int64 // start of the chunk's time window, Unix ns
	Open        bool
	Reason      uint8 // why it was cut, if closed
	FirstAppend int64 // wall clock, Unix ns
	LastAppend  int64
	Data        []byte // the chunk in pkg/chunk's encoded form
}

// Record is a decoded record. Only the fields of its Type are set. Strings
// and byte slices point into the payload it was decoded from: they are valid
// until the payload's buffer is reused (for Replay: until the callback
// returns). Copy what you keep.
type Record struct {
	Type Type

	Tenant  string         // Series
	Ref     uint64         // Series, Entries, Cut: the stream
	Labels  string         // Series
	Entries []Entry        // Entries
	Cuts    []ChunkCut     // Cut
	Flushed []FlushedChunk // Flushed
	Chunk   ChunkState     // Chunk

	labels []Label  // backing array of Entries' metadata
	spans  [][2]int // metadata of each entry: labels[from:to]
}

// AppendSeries appends a Series record payload to b.
func AppendSeries(b []byte, tenant string, ref uint64, labels string) []byte {
	b = append(b, byte(TypeSeries))
	b = appendString(b, tenant)
	b = binary.AppendUvarint(b, ref)
	return appendString(b, labels)
}

// AppendEntriesHeader starts an Entries record payload for stream ref; add
// entries with AppendEntry.
func AppendEntriesHeader(b []byte, ref uint64) []byte {
	b = append(b, byte(TypeEntries))
	return binary.AppendUvarint(b, ref)
}

// AppendEntry appends one entry to an Entries payload; exactly nmeta
// AppendLabel calls must follow.
func AppendEntry(b []byte, chunk uint64, ts int64, line string, nmeta int) []byte {
	b = binary.AppendUvarint(b, chunk)
	b = binary.LittleEndian.AppendUint64(b, uint64(ts))
	b = appendString(b, line)
	return binary.AppendUvarint(b, uint64(nmeta))
}

// AppendLabel appends a metadata pair of the entry last appended.
func AppendLabel(b []byte, name, value string) []byte {
	return appendString(appendString(b, name), value)
}

// AppendCut appends a Cut record payload to b.
func AppendCut(b []byte, ref uint64, cuts []ChunkCut) []byte {
	b = append(b, byte(TypeCut))
	b = binary.AppendUvarint(b, ref)
	for _, c := range cuts {
		b = binary.AppendUvarint(b, c.Chunk)
		b = append(b, c.Reason)
	}
	return b
}

// AppendFlushed appends a Flushed record payload to b.
func AppendFlushed(b []byte, chunks []FlushedChunk) []byte {
	b = append(b, byte(TypeFlushed))
	for _, c := range chunks {
		b = binary.AppendUvarint(b, c.Ref)
		b = binary.AppendUvarint(b, c.Chunk)
	}
	return b
}

// AppendChunk appends a Chunk record payload to b.
func AppendChunk(b []byte, c *ChunkState) []byte {
	b = append(b, byte(TypeChunk))
	b = binary.AppendUvarint(b, c.Ref)
	b = binary.AppendUvarint(b, c.Chunk)
	b = binary.LittleEndian.AppendUint64(b, uint64(c.Window))
	var flags byte
	if c.Open {
		flags |= 1
	}
	b = append(b, flags, c.Reason)
	b = binary.LittleEndian.AppendUint64(b, uint64(c.FirstAppend))
	b = binary.LittleEndian.AppendUint64(b, uint64(c.LastAppend))
	b = binary.AppendUvarint(b, uint64(len(c.Data)))
	return append(b, c.Data...)
}

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

// Decode decodes payload into r, reusing r's slices. Decoding fails with an
// error wrapping ErrCorrupt when the payload is malformed.
func (r *Record) Decode(payload []byte) error {
	d := decoder{b: payload}
	t := Type(d.byte())
	*r = Record{Type: t, Entries: r.Entries[:0], Cuts: r.Cuts[:0], Flushed: r.Flushed[:0], labels: r.labels[:0], spans: r.spans[:0]}
	switch t {
	case TypeSeries:
		r.Tenant = d.string()
		r.Ref = d.uvarint()
		r.Labels = d.string()
	case TypeEntries:
		r.Ref = d.uvarint()
		r.decodeEntries(&d)
	case TypeCut:
		r.Ref = d.uvarint()
		for d.err == nil && len(d.b) > 0 {
			r.Cuts = append(r.Cuts, ChunkCut{Chunk: d.uvarint(), Reason: d.byte()})
		}
	case TypeFlushed:
		for d.err == nil && len(d.b) > 0 {
			r.Flushed = append(r.Flushed, FlushedChunk{Ref: d.uvarint(), Chunk: d.uvarint()})
		}
	case TypeChunk:
		c := &r.Chunk
		c.Ref = d.uvarint()
		c.Chunk = d.uvarint()
		c.Window = int64(d.uint64())
		flags := d.byte()
		c.Open = flags&1 != 0
		c.Reason = d.byte()
		c.FirstAppend = int64(d.uint64())
		c.LastAppend = int64(d.uint64())
		c.Data = d.bytes()
	default:
		if d.err == nil {
			return fmt.Errorf("%w: unknown record type %d", ErrCorrupt, t)
		}
	}
	if d.err == nil && len(d.b) > 0 {
		d.err = fmt.Errorf("%d trailing bytes", len(d.b))
	}
	if d.err != nil {
		return fmt.Errorf("%w: %s record: %v", ErrCorrupt, t, d.err)
	}
	return nil
}

func (r *Record) decodeEntries(d *decoder) {
	for d.err == nil && len(d.b) > 0 {
		e := Entry{Chunk: d.uvarint(), Timestamp: int64(d.uint64()), Line: d.string()}
		n := d.uvarint()
		// Each pair takes at least two bytes.
		if n > uint64(len(d.b)/2) {
			d.fail("metadata count %d exceeds the record", n)
			return
		}
		from := len(r.labels)
		for range n {
			r.labels = append(r.labels, Label{Name: d.string(), Value: d.string()})
		}
		r.Entries = append(r.Entries, e)
		r.spans = append(r.spans, [2]int{from, len(r.labels)})
	}
	// Point the entries into r.labels only now: appends may have moved it.
	for i, s := range r.spans {
		if s[1] > s[0] {
			r.Entries[i].Metadata = r.labels[s[0]:s[1]:s[1]]
		}
	}
}

// decoder reads a payload; the first error sticks and later reads return
// zero values.
type decoder struct {
	b   []byte
	err error
}

func (d *decoder) fail(format string, args ...any) {
	if d.err == nil {
		d.err = fmt.Errorf(format, args...)
	}
}

func (d *decoder) byte() byte {
	if d.err != nil {
		return 0
	}
	if len(d.b) < 1 {
		d.fail("unexpected end")
		return 0
	}
	v := d.b[0]
	d.b = d.b[1:]
	return v
}

func (d *decoder) uvarint() uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.fail("bad uvarint")
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) uint64() uint64 {
	if d.err != nil {
		return 0
	}
	if len(d.b) < 8 {
		d.fail("unexpected end")
		return 0
	}
	v := binary.LittleEndian.Uint64(d.b)
	d.b = d.b[8:]
	return v
}

func (d *decoder) bytes() []byte {
	n := d.uvarint()
	if d.err != nil {
		return nil
	}
	if n > uint64(len(d.b)) || n > math.MaxInt32 {
		d.fail("length %d exceeds the record", n)
		return nil
	}
	v := d.b[:n:n]
	d.b = d.b[n:]
	return v
}

// string returns a string that shares the payload's memory.
func (d *decoder) string() string {
	b := d.bytes()
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(&b[0], len(b))
}
