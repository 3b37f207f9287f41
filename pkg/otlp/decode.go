package otlp

import (
	"encoding/hex"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
	"unsafe"

	"github.com/prometheus/prometheus/model/labels"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/plog/plogotlp"

	"github.com/skald-logs/skald/pkg/logproto"
)

// Names of the stream label and structured-metadata fields the mapping
// writes itself, as Loki names them.
const (
	labelServiceName   = "service_name"
	unknownServiceName = "unknown_service"

	metaObservedTimestamp     = "observed_timestamp"
	metaSeverityNumber        = "severity_number"
	metaSeverityText          = "severity_text"
	metaDroppedAttributes     = "dropped_attributes_count"
	metaFlags                 = "flags"
	metaTraceID               = "trace_id"
	metaSpanID                = "span_id"
	metaEventName             = "event_name"
	metaScopeName             = "scope_name"
	metaScopeVersion          = "scope_version"
	metaScopeDroppedAttrCount = "scope_dropped_attributes_count"
)

// Decoder maps OTLP log exports to push requests. It is safe for concurrent
// use.
type Decoder struct {
	index map[string]struct{} // resource attributes that become stream labels
}

// NewDecoder returns a decoder for cfg.
func NewDecoder(cfg Config) *Decoder {
	d := &Decoder{index: make(map[string]struct{}, len(cfg.IndexLabelAttributes))}
	for _, a := range cfg.IndexLabelAttributes {
		d.index[a] = struct{}{}
	}
	return d
}

// Options are the per-request inputs of Decode.
type Options struct {
	// DiscoverServiceName lists the labels service_name is taken from when
	// the resource gives no service_name (no service.name, or an empty one):
	// the first non-empty stream label, in attribute order, named in the
	// list gives it, else it is unknown_service (the tenant's
	// discover_service_name, as Loki applies it to OTLP). Empty: no
	// service_name is added here (the distributor adds it from its own
	// configuration).
	DiscoverServiceName []string
	// Now is the timestamp, in Unix nanoseconds, of records that carry
	// neither a time nor an observed time.
	Now int64
}

// Decode decodes an ExportLogsServiceRequest in format f (data is the
// decompressed body) and appends its records to req: one stream per label
// set, in the order the label sets first appear, each entry in the order of
// its record. A request without records appends nothing. A body that does
// not decode is ErrMalformed. Decode keeps no reference to data.
func (d *Decoder) Decode(data []byte, f Format, opts Options, req *logproto.PushRequest) error {
	er := plogotlp.NewExportRequest()
	var err error
	switch f {
	case Protobuf:
		err = er.UnmarshalProto(data)
	case JSON:
		if err = checkJSONDepth(data, maxJSONDepth); err == nil {
			err = er.UnmarshalJSON(data)
		}
	default:
		return errorf(ErrUnsupportedContentType, "content type: %s is not supported", f)
	}
	if err != nil {
		return errorf(ErrMalformed, "%v", err)
	}
	d.convert(er.Logs(), opts, req)
	return nil
}

// convert appends the records of ld to req.
func (d *Decoder) convert(ld plog.Logs, opts Options, req *logproto.PushRequest) {
	c := converter{
		d:       d,
		opts:    opts,
		req:     req,
		streams: map[string]int{},
		names:   map[string]string{},
	}
	rls := ld.ResourceLogs()
	for i := 0; i < rls.Len(); i++ {
		c.resource(rls.At(i))
	}
}

// converter holds the state of one Decode call.
type converter struct {
	d    *Decoder
	opts Options
	req  *logproto.PushRequest

	streams map[string]int    // label string → index in req.Streams
	names   map[string]string // attribute name → label name
	pairs   pairArena         // structured metadata of the entries
	text    textArena         // the numbers and ids it formats

	labels    []logproto.LabelAdapter // stream labels of the resource
	resMeta   []logproto.LabelAdapter // its other attributes
	scopeMeta []logproto.LabelAdapter // the current scope's metadata
	builder   labels.ScratchBuilder
}

// resource appends the records of one ResourceLogs.
func (c *converter) resource(rl plog.ResourceLogs) {
	sls := rl.ScopeLogs()
	count := 0
	for j := 0; j < sls.Len(); j++ {
		count += sls.At(j).LogRecords().Len()
	}
	if count == 0 {
		return
	}
	si := c.stream(rl.Resource().Attributes())
	for j := 0; j < sls.Len(); j++ {
		sl := sls.At(j)
		c.scope(sl.Scope())
		records := sl.LogRecords()
		st := &c.req.Streams[si]
		st.Entries = slices.Grow(st.Entries, records.Len())
		for k := 0; k < records.Len(); k++ {
			st.Entries = append(st.Entries, c.entry(records.At(k)))
		}
	}
}

// stream maps a resource's attributes to its stream labels, keeps the
// others as c.resMeta and returns the index of the stream in c.req.
func (c *converter) stream(attrs pcommon.Map) int {
	c.labels, c.resMeta = c.labels[:0], c.resMeta[:0]
	for k, v := range attrs.All() {
		if _, ok := c.d.index[k]; ok {
			c.labels = c.flatten(c.labels, "", k, v)
		} else {
			c.resMeta = c.flatten(c.resMeta, "", k, v)
		}
	}
	if len(c.opts.DiscoverServiceName) > 0 && lastValue(c.labels, labelServiceName) == "" {
		c.labels = append(c.labels, logproto.LabelAdapter{Name: labelServiceName, Value: c.discoverServiceName()})
	}

	// Later attributes win over earlier ones of the same label name, as
	// they do in Loki's label map; empty values are no labels.
	slices.SortStableFunc(c.labels, func(a, b logproto.LabelAdapter) int { return strings.Compare(a.Name, b.Name) })
	c.builder.Reset()
	for i, l := range c.labels {
		if i+1 < len(c.labels) && c.labels[i+1].Name == l.Name || l.Value == "" {
			continue
		}
		if !utf8.ValidString(l.Value) {
			l.Value = strings.ToValidUTF8(l.Value, "\uFFFD")
		}
		c.builder.Add(l.Name, l.Value)
	}
	key := logproto.LabelsString(c.builder.Labels())
	si, ok := c.streams[key]
	if !ok {
		si = len(c.req.Streams)
		c.streams[key] = si
		c.req.Streams = append(c.req.Streams, logproto.Stream{Labels: key})
	}
	return si
}

// discoverServiceName returns the value of the first stream label, in
// attribute order, named in the discovery list, else unknown_service.
func (c *converter) discoverServiceName() string {
	for _, l := range c.labels {
		if l.Value != "" && slices.Contains(c.opts.DiscoverServiceName, l.Name) {
			return l.Value
		}
	}
	return unknownServiceName
}

// lastValue returns the value of the last pair named name, or "".
func lastValue(pairs []logproto.LabelAdapter, name string) string {
	for i := len(pairs) - 1; i >= 0; i-- {
		if pairs[i].Name == name {
			return pairs[i].Value
		}
	}
	return ""
}

// scope sets c.scopeMeta to the metadata of an instrumentation scope.
func (c *converter) scope(s pcommon.InstrumentationScope) {
	c.scopeMeta = c.scopeMeta[:0]
	for k, v := range s.Attributes().All() {
		c.scopeMeta = c.flatten(c.scopeMeta, "", k, v)
	}
	if name := s.Name(); name != "" {
		c.scopeMeta = append(c.scopeMeta, logproto.LabelAdapter{Name: metaScopeName, Value: name})
	}
	if version := s.Version(); version != "" {
		c.scopeMeta = append(c.scopeMeta, logproto.LabelAdapter{Name: metaScopeVersion, Value: version})
	}
	if n := s.DroppedAttributesCount(); n != 0 {
		c.scopeMeta = append(c.scopeMeta, logproto.LabelAdapter{Name: metaScopeDroppedAttrCount, Value: strconv.FormatUint(uint64(n), 10)})
	}
}

// entry maps one record: its attributes and fields, then the resource's
// and the scope's metadata, in Loki's order.
func (c *converter) entry(lr plog.LogRecord) logproto.Entry {
	eventName := lr.EventName()
	for k, v := range lr.Attributes().All() {
		if k == metaEventName && eventName != "" {
			continue // the record's own field wins
		}
		c.pairs.buf = c.flatten(c.pairs.buf, "", k, v)
	}
	ts, observed := int64(lr.Timestamp()), int64(lr.ObservedTimestamp())
	if ts != 0 && observed != 0 {
		c.pairs.add(metaObservedTimestamp, c.text.int(observed))
	}
	if sn := lr.SeverityNumber(); sn != plog.SeverityNumberUnspecified {
		c.pairs.add(metaSeverityNumber, strconv.FormatInt(int64(sn), 10))
	}
	if st := lr.SeverityText(); st != "" {
		c.pairs.add(metaSeverityText, st)
	}
	if n := lr.DroppedAttributesCount(); n != 0 {
		c.pairs.add(metaDroppedAttributes, strconv.FormatUint(uint64(n), 10))
	}
	if f := lr.Flags(); f != 0 {
		c.pairs.add(metaFlags, strconv.FormatUint(uint64(f), 10))
	}
	if id := lr.TraceID(); !id.IsEmpty() {
		c.pairs.add(metaTraceID, c.text.hex(id[:]))
	}
	if id := lr.SpanID(); !id.IsEmpty() {
		c.pairs.add(metaSpanID, c.text.hex(id[:]))
	}
	if eventName != "" {
		c.pairs.add(metaEventName, eventName)
	}
	c.pairs.buf = append(c.pairs.buf, c.resMeta...)
	c.pairs.buf = append(c.pairs.buf, c.scopeMeta...)

	switch {
	case ts != 0:
	case observed != 0:
		ts = observed
	default:
		ts = c.opts.Now
	}
	return logproto.Entry{Timestamp: ts, Line: lr.Body().AsString(), StructuredMetadata: c.pairs.take()}
}

// flatten appends the pairs of attribute key (under prefix, the label name
// of the map holding it) with value v: one pair, or one per leaf of a map
// value, named with "_" between the keys. Pairs with an empty name are
// dropped.
func (c *converter) flatten(dst []logproto.LabelAdapter, prefix, key string, v pcommon.Value) []logproto.LabelAdapter {
	name := c.name(prefix, key)
	if v.Type() == pcommon.ValueTypeMap {
		for k, mv := range v.Map().All() {
			dst = c.flatten(dst, name, k, mv)
		}
		return dst
	}
	if name == "" {
		return dst
	}
	var value string
	switch v.Type() {
	case pcommon.ValueTypeStr:
		value = v.Str()
	case pcommon.ValueTypeInt:
		value = c.text.int(v.Int())
	default:
		value = v.AsString()
	}
	return append(dst, logproto.LabelAdapter{Name: name, Value: value})
}

// name returns the label name of key under prefix, caching top-level names
// (they repeat from record to record).
func (c *converter) name(prefix, key string) string {
	if prefix != "" {
		return normalizeName(prefix + "_" + key)
	}
	if n, ok := c.names[key]; ok {
		return n
	}
	n := normalizeName(key)
	c.names[key] = n
	return n
}

// pairArena hands out the structured metadata of consecutive entries from
// shared backing arrays. Each slice it returns has its capacity capped, so
// appending to it (the distributor adds detected_level) copies rather than
// writing into the next entry's pairs.
type pairArena struct {
	buf   []logproto.LabelAdapter
	start int // first pair of the entry being built
}

func (a *pairArena) add(name, value string) {
	a.buf = append(a.buf, logproto.LabelAdapter{Name: name, Value: value})
}

// take returns the pairs added since the last take (nil if none). When
// the room left is under twice what this entry used, the next entries get a
// new backing array (room for 64 such entries), so that appending to a full
// array rarely happens and then copies one entry's pairs, not all of them.
func (a *pairArena) take() []logproto.LabelAdapter {
	if a.start == len(a.buf) {
		return nil
	}
	s := a.buf[a.start:len(a.buf):len(a.buf)]
	a.start = len(a.buf)
	if cap(a.buf)-len(a.buf) < 2*len(s) {
		a.buf, a.start = make([]logproto.LabelAdapter, 0, max(64*len(s), 1024)), 0
	}
	return s
}

// textArena makes the strings the mapping formats (ids, timestamps,
// integers) out of shared chunks: one allocation per chunk rather than one
// per string. Bytes are only ever appended within a chunk's capacity, so a
// string, once made, never changes; a full chunk is left to the strings
// that point into it.
type textArena struct {
	buf []byte
}

// reserve makes room for n more bytes and returns where they start.
func (a *textArena) reserve(n int) int {
	if cap(a.buf)-len(a.buf) < n {
		a.buf = make([]byte, 0, max(4096, n))
	}
	return len(a.buf)
}

func (a *textArena) finish(start int) string {
	if start == len(a.buf) {
		return ""
	}
	return unsafe.String(&a.buf[start], len(a.buf)-start)
}

// int returns v in decimal.
func (a *textArena) int(v int64) string {
	if 0 <= v && v < 100 {
		return strconv.FormatInt(v, 10) // static strings, no allocation
	}
	start := a.reserve(20)
	a.buf = strconv.AppendInt(a.buf, v, 10)
	return a.finish(start)
}

// hex returns b in lower-case hexadecimal.
func (a *textArena) hex(b []byte) string {
	start := a.reserve(2 * len(b))
	a.buf = hex.AppendEncode(a.buf, b)
	return a.finish(start)
}
