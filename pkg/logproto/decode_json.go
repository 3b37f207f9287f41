package logproto

import (
	"strconv"
	"strings"
)

// UnmarshalJSONPushRequest decodes a JSON push body (POST
// /loki/api/v1/push with Content-Type application/json) into req,
// replacing its streams:
//
//	{"streams": [{
//	  "stream": {"app": "web", "env": "prod"},
//	  "values": [
//	    ["1700000000123456789", "GET / 200"],
//	    ["1700000000223456789", "GET /x 500", {"trace_id": "abc"}]
//	  ]}]}
//
// A timestamp must be a JSON string holding integer Unix nanoseconds; the
// optional third element is structured metadata, an object of string
// values, kept in document order. The stream object becomes Stream.Labels
// in Prometheus text form, sorted by name, values quoted with Go escapes
// ({app="web", env="prod"}; a name given twice keeps its last value), so
// that both push encodings reach ParseLabels the same way; names are
// written as they are, so an invalid name fails there, as in Loki.
//
// As in Loki, unknown keys are ignored, the "streams" key matches in any
// case, and a null body, null streams, null "values" and null entries are
// skipped.
// Skald is stricter in two places: an entry must have 2 or 3 elements, and
// nothing but white space may follow the top-level object.
//
// Memory is reused and shared as by UnmarshalPushRequest: strings alias one
// copy of b. Errors wrap ErrMalformed and name the offset and the value:
// "invalid push JSON at offset 57: streams[0].values[1][0]: timestamp must
// be a string of integer nanoseconds, found number".
func UnmarshalJSONPushRequest(b []byte, req *PushRequest) error {
	d := jsonPushDecoder{jsonScanner: jsonScanner{s: string(b), what: "push JSON"}}
	return d.pushRequest(req, d.stream)
}

type jsonPushDecoder struct {
	jsonScanner
	metadata pairArena
	labels   []LabelAdapter // scratch for a stream's labels
	lbuf     []byte         // scratch for a stream's label string
}

// pushRequest reads a push body of either JSON encoding into req,
// replacing its streams: an object (or null) whose "streams" key, in any
// case, holds an array (or null) of stream objects, each read by stream
// into a reused Stream; null streams are skipped and other keys ignored.
// On error req is left with no streams.
func (d *jsonScanner) pushRequest(req *PushRequest, stream func(si int, st *Stream) error) error {
	streams, err := d.push(req.Streams[:0], stream)
	if err != nil {
		req.Streams = req.Streams[:0]
		return err
	}
	req.Streams = streams
	return nil
}

func (d *jsonScanner) push(streams []Stream, stream func(si int, st *Stream) error) ([]Stream, error) {
	if d.null() {
		return streams, d.end()
	}
	empty, err := d.beginObject(noPath, "a JSON object")
	for more := !empty; more && err == nil; {
		var k string
		if k, err = d.key(noPath); err != nil {
			break
		}
		if strings.EqualFold(k, "streams") {
			streams, err = d.streams(streams[:0], stream)
		} else {
			err = d.skipValue(noPath, 0)
		}
		if err == nil {
			more, err = d.nextMember(noPath)
		}
	}
	if err == nil {
		err = d.end()
	}
	return streams, err
}

func (d *jsonScanner) streams(streams []Stream, stream func(si int, st *Stream) error) ([]Stream, error) {
	if d.null() {
		return streams, nil
	}
	p := jsonPath{si: -1, ei: -1, tail: "streams"}
	empty, err := d.beginArray(p, "an array")
	for more := !empty; more && err == nil; {
		if !d.null() {
			si := len(streams)
			if si < cap(streams) {
				streams = streams[:si+1]
			} else {
				streams = append(streams, Stream{})
			}
			if err = stream(si, &streams[si]); err != nil {
				break
			}
		}
		more, err = d.nextElem(p)
	}
	return streams, err
}

// entryList reads the array (or null) of stream si's entries under the
// key list ("values" or "entries"), each read by entry; null entries are
// skipped.
func (d *jsonScanner) entryList(si int, list string, entries []Entry, entry func(p jsonPath, e *Entry) error) ([]Entry, error) {
	if d.null() {
		return entries, nil
	}
	p := jsonPath{si: si, list: list, ei: -1}
	empty, err := d.beginArray(p, "an array")
	for more := !empty; more && err == nil; {
		if !d.null() {
			entries = append(entries, Entry{})
			ei := len(entries) - 1
			if err = entry(jsonPath{si: si, list: list, ei: ei}, &entries[ei]); err != nil {
				break
			}
		}
		more, err = d.nextElem(p)
	}
	return entries, err
}

func (d *jsonPushDecoder) stream(si int, st *Stream) error {
	entries := st.Entries[:0]
	*st = Stream{Labels: "{}"}
	p := jsonPath{si: si, ei: -1}
	empty, err := d.beginObject(p, "an object")
	for more := !empty; more && err == nil; {
		var k string
		if k, err = d.key(p); err != nil {
			break
		}
		switch k {
		case "stream":
			st.Labels, err = d.streamLabels(jsonPath{si: si, ei: -1, tail: ".stream"})
		case "values":
			entries, err = d.entryList(si, "values", entries[:0], d.entry)
		default:
			err = d.skipValue(p, 0)
		}
		if err == nil {
			more, err = d.nextMember(p)
		}
	}
	st.Entries = entries
	return err
}

// streamLabels reads the stream's label object and returns it in
// Prometheus text form.
func (d *jsonPushDecoder) streamLabels(p jsonPath) (string, error) {
	if d.null() {
		return "{}", nil
	}
	ls := d.labels[:0]
	empty, err := d.beginObject(p, "an object")
	for more := !empty; more && err == nil; {
		var name, value string
		if name, err = d.key(p); err != nil {
			break
		}
		if value, err = d.stringValue(p, "label value"); err != nil {
			break
		}
		ls = append(ls, LabelAdapter{Name: name, Value: value})
		more, err = d.nextMember(p)
	}
	d.labels = ls
	if err != nil {
		return "", err
	}
	// Sort stably by name, to keep the last of equal names below.
	sortByName(ls, labelAdapterName)
	b := append(d.lbuf[:0], '{')
	for i, l := range ls {
		if i+1 < len(ls) && ls[i+1].Name == l.Name {
			continue
		}
		if len(b) > 1 {
			b = append(b, ',', ' ')
		}
		b = append(b, l.Name...)
		b = append(b, '=')
		b = appendQuoted(b, l.Value)
	}
	b = append(b, '}')
	d.lbuf = b
	return string(b), nil
}

// entry reads [timestamp, line] or [timestamp, line, {metadata}].
func (d *jsonPushDecoder) entry(p jsonPath, e *Entry) error {
	if d.peek() != '[' {
		return d.fail(p, "entry must be an array [timestamp, line(, structured metadata)], found %s", d.found())
	}
	d.i++
	p.tail = "[0]"
	if d.peek() != '"' {
		return d.fail(p, "timestamp must be a string of integer nanoseconds, found %s", d.found())
	}
	start := d.i
	ts, err := d.str(p)
	if err != nil {
		return err
	}
	if e.Timestamp, err = strconv.ParseInt(ts, 10, 64); err != nil {
		d.i = start
		return d.fail(p, "timestamp %q is not an integer number of nanoseconds", ts)
	}
	if d.peek() != ',' {
		return d.fail(p, "entry has no line")
	}
	d.i++
	p.tail = "[1]"
	if e.Line, err = d.stringValue(p, "line"); err != nil {
		return err
	}
	switch d.peek() {
	case ']':
		d.i++
		return nil
	case ',':
		d.i++
	default:
		return d.expected(p, "',' or ']' after the line")
	}
	p.tail = "[2]"
	if err := d.metadataObject(p, &d.metadata); err != nil {
		return err
	}
	e.StructuredMetadata = d.metadata.take()
	if d.peek() != ']' {
		p.tail = ""
		return d.fail(p, "entry has more than 3 elements")
	}
	d.i++
	return nil
}

// metadataObject reads an object of string values into a.
func (d *jsonScanner) metadataObject(p jsonPath, a *pairArena) error {
	if d.peek() != '{' {
		return d.fail(p, "structured metadata must be an object, found %s", d.found())
	}
	empty, err := d.beginObject(p, "object")
	for more := !empty; more && err == nil; {
		var name, value string
		if name, err = d.key(p); err != nil {
			break
		}
		if value, err = d.stringValue(p, "structured metadata value"); err != nil {
			break
		}
		a.add(LabelAdapter{Name: name, Value: value})
		more, err = d.nextMember(p)
	}
	return err
}
