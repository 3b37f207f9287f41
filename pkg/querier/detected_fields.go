package querier

import (
	"cmp"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/skald-logs/skald/pkg/logproto"
	"github.com/skald-logs/skald/pkg/logql"
	"github.com/skald-logs/skald/pkg/logql/syntax"
)

// Labels that parsers set on failure, never fields.
var errorLabels = map[string]bool{"__error__": true, "__error_details__": true, "__preserve_error__": true}

// fieldAcc accumulates one field.
type fieldAcc struct {
	typ     logproto.DetectedFieldType
	parsers []string
	path    []string
	values  map[string]struct{}
}

// DetectFields reports the fields of the entries of streams (a log query's
// result, each entry carrying its structured metadata and parsed labels
// apart), as Loki's detected_fields does:
//
//   - every structured-metadata key is a field without parsers;
//   - every label the query's parsers extracted, and every name found by
//     parsing the line as JSON or, failing that, as logfmt, is a field with
//     the parser that found it ("json" fields carry their JSON path);
//   - a field's type is inferred from a value (int, float, boolean,
//     duration, bytes, else string); like Loki, each entry re-infers it from
//     its first value and the last entry read decides;
//   - cardinality counts distinct values;
//   - at most limit fields are reported; later new names are ignored.
//
// Streams are read in label order and entries in the order given (newest
// first for Loki's backward query). Fields are returned sorted by name.
func DetectFields(streams []logql.Stream, limit int) []logproto.DetectedField {
	d := fieldDetector{limit: limit, fields: map[string]*fieldAcc{}, typedSM: map[string]bool{}, typed: map[string]bool{}}
	forEntries(streams, d.entry)
	out := make([]logproto.DetectedField, 0, len(d.order))
	for _, name := range d.order {
		acc := d.fields[name]
		out = append(out, logproto.DetectedField{
			Label:       name,
			Type:        acc.typ,
			Cardinality: uint64(len(acc.values)),
			Parsers:     acc.parsers,
			JSONPath:    acc.path,
		})
	}
	slices.SortFunc(out, func(a, b logproto.DetectedField) int { return cmp.Compare(a.Label, b.Label) })
	return out
}

// fieldDetector accumulates the fields of the entries it is shown.
type fieldDetector struct {
	limit  int
	fields map[string]*fieldAcc
	order  []string
	lf     lineFields
	// Names whose type the current entry already set, for structured
	// metadata and for parsed names apart, as Loki keeps them.
	typedSM, typed map[string]bool
}

// parserLists are the parsers of a line, shared read-only.
var parserLists = map[string][]string{parserJSON: {parserJSON}, parserLogfmt: {parserLogfmt}}

// get returns the field's accumulator, creating it while under the limit.
func (d *fieldDetector) get(name string) *fieldAcc {
	if acc, ok := d.fields[name]; ok {
		return acc
	}
	if len(d.fields) >= d.limit {
		return nil
	}
	acc := &fieldAcc{typ: logproto.DetectedFieldString, values: map[string]struct{}{}}
	d.fields[name] = acc
	d.order = append(d.order, name)
	return acc
}

func (d *fieldDetector) entry(e *logproto.Entry, isLabel func(string) bool) {
	clear(d.typedSM)
	clear(d.typed)
	for _, l := range e.StructuredMetadata {
		acc := d.get(l.Name)
		if acc == nil {
			continue
		}
		if !d.typedSM[l.Name] {
			acc.typ = InferType(l.Value)
			d.typedSM[l.Name] = true
		}
		acc.values[l.Value] = struct{}{}
	}
	d.lf.parse(e.Line, isLabel)
	parsers := parserLists[d.lf.parser]
	for _, l := range e.Parsed {
		if !errorLabels[l.Name] {
			d.add(l.Name, l.Value, nil, parsers)
		}
	}
	for i, name := range d.lf.names {
		var path []string
		if d.lf.parser == parserJSON {
			path = d.lf.paths[i]
		}
		d.add(name, d.lf.values[i], path, parsers)
	}
}

// add counts a parsed value of a field.
func (d *fieldDetector) add(name, value string, path, parsers []string) {
	acc := d.get(name)
	if acc == nil {
		return
	}
	for _, p := range parsers {
		if !slices.Contains(acc.parsers, p) {
			acc.parsers = append(acc.parsers, p)
		}
	}
	if acc.path == nil && path != nil {
		acc.path = path
	}
	if !d.typed[name] {
		acc.typ = InferType(value)
		d.typed[name] = true
	}
	acc.values[value] = struct{}{}
}

// DetectFieldValues returns the distinct values of the field name in the
// entries of streams, sorted, as Loki's detected_field/{name}/values does:
// from structured metadata, the query's parsed labels and the line parsed as
// JSON or logfmt. Collection stops once limit values are known (checked
// before each entry, as Loki does). Byte sizes ("1024KB") are rewritten in
// Loki's canonical form ("1.0MB") so they can be pasted into a query; values
// that also read as durations ("5m") are left alone.
func DetectFieldValues(streams []logql.Stream, name string, limit int) []string {
	values := map[string]struct{}{}
	var lf lineFields
	forEntries(streams, func(e *logproto.Entry, isLabel func(string) bool) {
		if len(values) >= limit {
			return
		}
		for _, l := range e.StructuredMetadata {
			if l.Name == name {
				values[l.Value] = struct{}{}
			}
		}
		parsed := func(v string) { values[canonicalBytes(v)] = struct{}{} }
		if !errorLabels[name] {
			for _, l := range e.Parsed {
				if l.Name == name {
					parsed(l.Value)
				}
			}
		}
		lf.parse(e.Line, isLabel)
		for i, n := range lf.names {
			if n == name {
				parsed(lf.values[i])
			}
		}
	})
	out := make([]string, 0, len(values))
	for v := range values {
		out = append(out, v)
	}
	slices.Sort(out)
	return out
}

// forEntries calls fn for each entry, streams in label order.
func forEntries(streams []logql.Stream, fn func(e *logproto.Entry, isLabel func(string) bool)) {
	idx := make([]int, len(streams))
	keys := make([]string, len(streams))
	for i := range streams {
		idx[i] = i
		keys[i] = streams[i].Labels.String()
	}
	slices.SortStableFunc(idx, func(a, b int) int { return cmp.Compare(keys[a], keys[b]) })
	for _, i := range idx {
		s := &streams[i]
		isLabel := func(n string) bool { return s.Labels.Has(n) }
		for j := range s.Entries {
			fn(&s.Entries[j], isLabel)
		}
	}
}

// InferType returns the type Loki infers for a value, trying in order:
// int, float, boolean (Go's strconv.ParseBool), duration (Go's
// time.ParseDuration), bytes (humanized sizes such as "10 KB" or "3MiB"),
// else string.
func InferType(v string) logproto.DetectedFieldType {
	// Cheap looks first: the strconv and time parsers allocate an error
	// for every value they refuse, and most values are plain words.
	if v == "" {
		return logproto.DetectedFieldString
	}
	c := v[0]
	numeric := c >= '0' && c <= '9' || c == '-' || c == '+' || c == '.'
	if numeric {
		if _, err := strconv.ParseInt(v, 10, 64); err == nil {
			return logproto.DetectedFieldInt
		}
	}
	if numeric || c == 'i' || c == 'I' || c == 'n' || c == 'N' {
		if _, err := strconv.ParseFloat(v, 64); err == nil {
			return logproto.DetectedFieldFloat
		}
	}
	switch v {
	case "1", "t", "T", "TRUE", "true", "True", "0", "f", "F", "FALSE", "false", "False":
		return logproto.DetectedFieldBoolean
	}
	if numeric {
		if _, err := time.ParseDuration(v); err == nil {
			return logproto.DetectedFieldDuration
		}
	}
	if c >= '0' && c <= '9' || c == '.' || c == ',' {
		if _, err := syntax.ParseBytes(v); err == nil {
			return logproto.DetectedFieldBytes
		}
	}
	return logproto.DetectedFieldString
}

// byteSuffixes are the units a value must end with to be rewritten as a
// byte size by detected_field values.
var byteSuffixes = []string{"b", "kib", "kb", "mib", "mb", "gib", "gb", "tib", "tb", "pib", "pb", "eib", "eb",
	"ki", "k", "mi", "m", "gi", "g", "ti", "t", "pi", "p", "ei", "e"}

// canonicalBytes rewrites a byte size with a unit ("2048 KiB") in Loki's
// humanized SI form without a space ("2.1MB"); other values, and sizes that
// also read as durations, are returned unchanged.
func canonicalBytes(v string) string {
	b, err := syntax.ParseBytes(v)
	if err != nil {
		return v
	}
	lower := strings.ToLower(v)
	if !slices.ContainsFunc(byteSuffixes, func(u string) bool { return strings.HasSuffix(lower, u) }) {
		return v
	}
	if _, err := time.ParseDuration(v); err == nil {
		return v
	}
	return humanizeBytes(b)
}

// humanizeBytes formats b in SI units as go-humanize does, without the
// space: "999B", "1.0kB", "12MB".
func humanizeBytes(b uint64) string {
	if b < 10 {
		return strconv.FormatUint(b, 10) + "B"
	}
	units := []string{"B", "kB", "MB", "GB", "TB", "PB", "EB"}
	e := math.Floor(math.Log(float64(b)) / math.Log(1000))
	val := math.Floor(float64(b)/math.Pow(1000, e)*10+0.5) / 10
	prec := 0
	if val < 10 {
		prec = 1
	}
	return strconv.FormatFloat(val, 'f', prec, 64) + units[int(e)]
}
