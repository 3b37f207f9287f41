package logproto

import (
	"strings"
	"time"
)

// UnmarshalLegacyJSONPushRequest decodes the JSON body of Loki's legacy
// push endpoint, /api/prom/push, into req, replacing its streams. This is
// Loki's PushRequest in its Go JSON form:
//
//	{"streams": [{
//	  "labels": "{app=\"web\"}",
//	  "entries": [
//	    {"ts": "2019-09-13T18:32:22.380001319Z", "line": "GET / 200"},
//	    {"ts": "2019-09-13T18:32:23Z", "line": "x", "structuredMetadata": {"a": "1"}}
//	  ]}]}
//
// Timestamps are RFC 3339 strings with optional fractional seconds; keys
// match in any case and unknown ones are ignored (Loki decodes it into Go
// structs with jsoniter). Structured metadata (and "parsed") is sorted by
// name, a name given twice keeping its last value. A null or absent "ts"
// gives timestamp 0; timestamps beyond the int64 nanosecond range are
// clamped to it. Memory and errors as UnmarshalJSONPushRequest.
func UnmarshalLegacyJSONPushRequest(b []byte, req *PushRequest) error {
	d := jsonLegacyDecoder{jsonScanner: jsonScanner{s: string(b), what: "legacy push JSON"}}
	return d.pushRequest(req, d.stream)
}

type jsonLegacyDecoder struct {
	jsonScanner
	metadata pairArena
	parsed   pairArena
}

func (d *jsonLegacyDecoder) stream(si int, st *Stream) error {
	entries := st.Entries[:0]
	*st = Stream{}
	p := jsonPath{si: si, ei: -1}
	empty, err := d.beginObject(p, "an object")
	for more := !empty; more && err == nil; {
		var k string
		if k, err = d.key(p); err != nil {
			break
		}
		switch {
		case strings.EqualFold(k, "labels"):
			if !d.null() {
				st.Labels, err = d.stringValue(jsonPath{si: si, ei: -1, tail: ".labels"}, "labels")
			}
		case strings.EqualFold(k, "entries"):
			entries, err = d.entryList(si, "entries", entries[:0], d.entry)
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

func (d *jsonLegacyDecoder) entry(p jsonPath, e *Entry) error {
	empty, err := d.beginObject(p, "an object")
	for more := !empty; more && err == nil; {
		var k string
		if k, err = d.key(p); err != nil {
			break
		}
		switch {
		case strings.EqualFold(k, "ts"):
			if !d.null() {
				p.tail = ".ts"
				e.Timestamp, err = d.rfc3339(p)
			}
		case strings.EqualFold(k, "line"):
			if !d.null() {
				p.tail = ".line"
				e.Line, err = d.stringValue(p, "line")
			}
		case strings.EqualFold(k, "structuredMetadata"):
			p.tail = ".structuredMetadata"
			e.StructuredMetadata, err = d.labelMap(p, &d.metadata)
		case strings.EqualFold(k, "parsed"):
			p.tail = ".parsed"
			e.Parsed, err = d.labelMap(p, &d.parsed)
		default:
			err = d.skipValue(p, 0)
		}
		if err == nil {
			p.tail = ""
			more, err = d.nextMember(p)
		}
	}
	return err
}

func (d *jsonLegacyDecoder) rfc3339(p jsonPath) (int64, error) {
	if d.peek() != '"' {
		return 0, d.fail(p, "timestamp must be an RFC 3339 string, found %s", d.found())
	}
	start := d.i
	s, err := d.str(p)
	if err != nil {
		return 0, err
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		d.i = start
		return 0, d.fail(p, "timestamp %q is not an RFC 3339 time", s)
	}
	return unixNanos(t.Unix(), int64(t.Nanosecond())), nil
}

// labelMap reads an object of string values (or null) as Loki's
// LabelsAdapter does: sorted by name, the last of equal names kept.
func (d *jsonLegacyDecoder) labelMap(p jsonPath, a *pairArena) ([]LabelAdapter, error) {
	if d.null() {
		return nil, nil
	}
	if err := d.metadataObject(p, a); err != nil {
		return nil, err
	}
	ls := a.take()
	sortByName(ls, labelAdapterName)
	out := ls[:0]
	for i, l := range ls {
		if i+1 < len(ls) && ls[i+1].Name == l.Name {
			continue
		}
		out = append(out, l)
	}
	return out[:len(out):len(out)], nil
}

func labelAdapterName(l LabelAdapter) string { return l.Name }
