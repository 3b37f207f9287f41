package log

import (
	"fmt"
	"slices"
	"strings"

	"github.com/cespare/xxhash/v2"
	"github.com/prometheus/prometheus/model/labels"

	"github.com/skald-logs/skald/pkg/iter"
	"github.com/skald-logs/skald/pkg/logproto"
	"github.com/skald-logs/skald/pkg/logql/syntax"
)

// SampleExtractor turns log entries into the samples of a metric query:
// a value per entry (1, the line's length, or an unwrapped label) and the
// labels of the series it belongs to. It is compiled once per query and is
// safe for concurrent use; the StreamSampleExtractors it returns are not.
type SampleExtractor interface {
	ForStream(lbls labels.Labels) StreamSampleExtractor
}

// StreamSampleExtractor extracts the samples of one stream.
type StreamSampleExtractor interface {
	// Process runs the pipeline over one entry and returns its sample
	// value and series; ok is false when the entry yields no sample. It
	// never modifies line or sm, and keeps no reference to them. The
	// series is shared and must not be modified; it stays valid.
	Process(ts int64, line []byte, sm []logproto.LabelAdapter) (v float64, s *Series, ok bool)
}

// Series identifies the series of a sample; its Hash is HashLabels of its
// Labels.
type Series = iter.Series

// valueKind is what a sample's value is made of.
type valueKind uint8

const (
	valueCount  valueKind = iota // 1 per entry
	valueBytes                   // the length of the line after the pipeline
	valueUnwrap                  // an unwrapped label, converted
)

// PushesGrouping reports whether v, a vector aggregation over a range
// aggregation, lets the extractor group samples by v's grouping instead of
// keeping every label (Loki does the same): only sum, over a range
// aggregation without grouping of its own whose result sums.
func PushesGrouping(v *syntax.VectorAggregationExpr) (*syntax.RangeAggregationExpr, bool) {
	r, ok := v.Left.(*syntax.RangeAggregationExpr)
	if !ok || v.Op != syntax.OpTypeSum || r.Grouping != nil {
		return nil, false
	}
	switch r.Op {
	case syntax.OpRangeTypeBytes, syntax.OpRangeTypeBytesRate, syntax.OpRangeTypeSum,
		syntax.OpRangeTypeRate, syntax.OpRangeTypeCount:
		return r, true
	}
	return nil, false
}

// sampleExtractor is the compiled SampleExtractor.
type sampleExtractor struct {
	pipeline Pipeline
	kind     valueKind
	unwrap   string
	conv     sampleConverter
	post     sampleLabelFilter // nil without filters after unwrap
	// postNoError: the filters after unwrap are all __error__="".
	postNoError bool
	// postDetails: the filters after unwrap read __error_details__, so a
	// conversion error's details are set before they run (otherwise only
	// for the samples they keep: most are dropped by __error__="").
	postDetails bool
	groups      []string // sorted
	without     bool
	noLabels    bool // every sample goes to the series without labels
	// dropErrors: the series keep no label and no stage reads labels, so
	// Loki never runs the parsers (its parser hints say nothing is
	// needed) and their errors cannot fail the query. Samples that carry
	// __error__ then go to the series without labels like the others.
	dropErrors bool
	// bare: the pipeline has no stage after its leading line filters
	// (head, nil without), so an entry's labels are its stream labels and
	// its structured metadata, normalised. Process then runs no pipeline
	// for entries whose series the stream labels alone make (bareSeries).
	bare bool
	head Filterer
	// extracted are the names n for which n+"_extracted", the name a
	// metadata label that repeats a stream label gets, is grouped by.
	extracted []string
}

// NewSampleExtractor compiles the sample side of e: a
// *syntax.RangeAggregationExpr, or a *syntax.VectorAggregationExpr for
// which PushesGrouping holds (the vector's grouping then groups the
// samples). hash gives the identity of a stream's labels, as for
// NewPipeline.
//
// Series labels are, as in Loki: all labels of the entry (stream labels,
// structured metadata, parsed labels) without grouping; the grouped labels
// with `by`/`without`; none for absent_over_time and a grouping `by ()`;
// an unwrapped label is left out unless grouped by. A sample whose labels
// carry __error__ keeps all its labels, so that the engine can report it.
func NewSampleExtractor(e syntax.SampleExpr, hash func(labels.Labels) uint64) (SampleExtractor, error) {
	var (
		r        *syntax.RangeAggregationExpr
		grouping *syntax.Grouping
	)
	switch e := e.(type) {
	case *syntax.RangeAggregationExpr:
		r, grouping = e, e.Grouping
	case *syntax.VectorAggregationExpr:
		var ok bool
		if r, ok = PushesGrouping(e); !ok {
			return nil, fmt.Errorf("%w: no sample extractor for %q", ErrUnsupported, e.String())
		}
		grouping = e.Grouping
		if grouping == nil {
			grouping = &syntax.Grouping{} // sum(…) is sum by ()
		}
	default:
		return nil, fmt.Errorf("%w: no sample extractor for %q", ErrUnsupported, e.String())
	}
	p, err := NewPipeline(r.Selector(), hash)
	if err != nil {
		return nil, err
	}
	x := &sampleExtractor{pipeline: p}
	if grouping != nil {
		x.groups = slices.Clone(grouping.Groups)
		x.without = grouping.Without
		x.noLabels = !grouping.Without && len(grouping.Groups) == 0
	}
	if r.Op == syntax.OpRangeTypeAbsent {
		x.noLabels = true
	}
	if u := r.Left.Unwrap; u != nil {
		x.kind, x.unwrap = valueUnwrap, u.Label
		if x.conv, err = newSampleConverter(u.Conv); err != nil {
			return nil, err
		}
		x.postNoError = len(u.PostFilters) > 0
		for _, f := range u.PostFilters {
			if sf, ok := f.(*syntax.StringLabelFilter); !ok || sf.Matcher.Type != labels.MatchEqual ||
				sf.Matcher.Name != syntax.ErrorLabel || sf.Matcher.Value != "" {
				x.postNoError = false
			}
			if strings.Contains(f.String(), syntax.ErrorDetailsLabel) {
				x.postDetails = true
			}
			lf, err := compileSampleLabelFilter(f)
			if err != nil {
				return nil, err
			}
			if prev := x.post; prev != nil {
				x.post = func(s *sampleLabels) bool { return prev(s) && lf(s) }
			} else {
				x.post = lf
			}
		}
		if len(x.groups) == 0 || x.without {
			x.without = true
			x.groups = append(x.groups, u.Label)
		}
	} else {
		switch r.Op {
		case syntax.OpRangeTypeCount, syntax.OpRangeTypeRate, syntax.OpRangeTypeAbsent:
			x.kind = valueCount
		case syntax.OpRangeTypeBytes, syntax.OpRangeTypeBytesRate:
			x.kind = valueBytes
		default:
			return nil, fmt.Errorf("%w: %s needs an unwrapped label", ErrUnsupported, r.Op)
		}
		x.dropErrors = x.noLabels && !sampleStagesReadLabels(r.Selector().Stages())
	}
	slices.Sort(x.groups)
	x.groups = slices.Compact(x.groups)
	if bp, ok := p.(*pipeline); ok && len(bp.stages) == 0 {
		x.bare, x.head = true, bp.head
		for _, g := range x.groups {
			if n, ok := strings.CutSuffix(g, duplicateSuffix); ok {
				x.extracted = append(x.extracted, n)
			}
		}
	}
	return x, nil
}

func (x *sampleExtractor) ForStream(lbls labels.Labels) StreamSampleExtractor {
	return &streamSampleExtractor{x: x, lbls: lbls, sp: x.pipeline.ForStream(lbls), cache: map[uint64][]*cachedSeries{}}
}

// maxCachedSeries bounds the series one stream extractor remembers; past
// it the cache starts over (series already returned stay valid).
const maxCachedSeries = 4096

// cachedSeries is a series with its labels in the form Process compares.
type cachedSeries struct {
	ls []labels.Label
	s  Series
}

type streamSampleExtractor struct {
	x    *sampleExtractor
	lbls labels.Labels // the stream's
	sp   StreamPipeline
	// converted: unwrapFast left the conversion of this entry's value.
	converted bool
	convV     float64
	convErr   error
	// bare: the series of entries without metadata that matters
	// (bareSeries), once made; bareErr: the stream labels carry
	// __error__, so there is none.
	bare        *Series
	bareErr     bool
	bareErrSeen bool // bareErr is set
	// ungroupedNames are metadata names ungrouped found.
	ungroupedNames []string

	// Series by hash; byStream keeps the series of a pipeline result
	// whose labels are its stream labels alone (the fast path).
	cache    map[uint64][]*cachedSeries
	last     *cachedSeries // the series series returned last
	byStream map[uint64]*cachedSeries
	// groupsOf: the grouped series of stream results (byStreamGroups).
	groupsOf  map[uint64]*streamGroup
	lastGroup *streamGroup
	n         int
	set       sampleLabels
	out       sampleLabels
	d         xxhash.Digest
}

// emptySeries is the series without labels.
var emptySeries = &Series{Labels: labels.EmptyLabels(), Hash: HashLabels(labels.EmptyLabels())}

func (e *streamSampleExtractor) Process(ts int64, line []byte, sm []logproto.LabelAdapter) (float64, *Series, bool) {
	if x := e.x; x.bare && x.kind != valueUnwrap && x.post == nil {
		if s := e.bareSeries(sm); s != nil {
			if x.head != nil && !x.head.Filter(line) {
				return 0, nil, false
			}
			if x.kind == valueBytes {
				return float64(len(line)), s, true
			}
			return 1, s, true
		}
	}
	out, res, ok := e.sp.Process(ts, line, sm)
	if !ok {
		return 0, nil, false
	}
	x := e.x
	if x.kind == valueUnwrap && (x.post == nil || x.postNoError) {
		if v, s, ok, done := e.unwrapFast(res); done {
			return v, s, ok
		}
	}
	var v float64
	switch x.kind {
	case valueCount:
		v = 1
	case valueBytes:
		v = float64(len(out))
	}
	if x.kind != valueUnwrap && x.post == nil {
		if x.noLabels && (x.dropErrors || !hasError(res)) {
			return v, emptySeries, true
		}
		if len(x.groups) == 0 && len(res.StructuredMetadata) == 0 && len(res.Parsed) == 0 {
			return v, e.streamSeries(res), true
		}
		if !x.without && len(x.groups) > 0 {
			if s := e.byStreamGroups(res); s != nil {
				return v, s, true
			}
		}
	}
	set := &e.set
	set.fromResult(res)
	var convErr error
	converted := e.converted
	e.converted = false
	if x.kind == valueUnwrap {
		s, ok := set.get(x.unwrap)
		if !ok {
			return 0, nil, false // entries without the label yield nothing
		}
		if converted {
			v, convErr = e.convV, e.convErr // unwrapFast converted it
		} else {
			v, convErr = x.conv(s)
		}
		if convErr != nil {
			v = 0
			set.set(syntax.ErrorLabel, sampleExtractionErr)
			if x.postDetails {
				set.set(syntax.ErrorDetailsLabel, convErr.Error())
			}
		}
	}
	if x.post != nil && !x.post(set) {
		return 0, nil, false
	}
	if convErr != nil && !x.postDetails {
		if e, _ := set.get(syntax.ErrorLabel); e == sampleExtractionErr {
			set.set(syntax.ErrorDetailsLabel, convErr.Error())
		}
	}
	return v, e.series(e.group(set)), true
}

// hasError reports whether a pipeline result carries __error__.
func hasError(r *LabelsResult) bool {
	for _, l := range r.Parsed {
		if l.Name == syntax.ErrorLabel && l.Value != "" {
			return true
		}
	}
	for _, l := range r.StructuredMetadata {
		if l.Name == syntax.ErrorLabel && l.Value != "" {
			return true
		}
	}
	return r.Stream.Get(syntax.ErrorLabel) != ""
}

// group applies the extractor's grouping to the entry's labels.
func (e *streamSampleExtractor) group(set *sampleLabels) []labels.Label {
	x := e.x
	if v, _ := set.get(syntax.ErrorLabel); v != "" && !x.dropErrors {
		return set.ls // an error keeps every label
	}
	if x.noLabels {
		return nil
	}
	if len(x.groups) == 0 {
		return set.ls
	}
	out := e.out.ls[:0]
	for _, l := range set.ls {
		_, found := slices.BinarySearch(x.groups, l.Name)
		if found != x.without {
			out = append(out, l)
		}
	}
	e.out.ls = out
	return out
}

// unwrapFast extracts an unwrapped value without gathering the entry's
// labels, when its series is made without them: no error, and the
// samples go to the series without labels or are grouped by stream labels
// alone. done is false when Process must take the general path.
func (e *streamSampleExtractor) unwrapFast(res *LabelsResult) (v float64, s *Series, ok, done bool) {
	x := e.x
	sv := resultLabel(res, x.unwrap)
	if sv == "" {
		return 0, nil, false, true // entries without the label yield nothing
	}
	if hasError(res) {
		return 0, nil, false, false
	}
	switch {
	case x.noLabels:
		s = emptySeries
	case !x.without && len(x.groups) > 0:
		if s = e.byStreamGroups(res); s == nil {
			return 0, nil, false, false
		}
	default:
		return 0, nil, false, false
	}
	v, err := x.conv(sv)
	if err != nil {
		e.converted, e.convV, e.convErr = true, v, err
		return 0, nil, false, false
	}
	return v, s, true, true
}

// resultLabel is the value of a label of a processed entry, as
// sampleLabels.fromResult would give it: parsed over structured metadata
// over stream labels, the last of equal names; "" when there is none.
func resultLabel(r *LabelsResult, name string) string {
	for i := len(r.Parsed) - 1; i >= 0; i-- {
		if r.Parsed[i].Name == name {
			return r.Parsed[i].Value
		}
	}
	for i := len(r.StructuredMetadata) - 1; i >= 0; i-- {
		if r.StructuredMetadata[i].Name == name {
			return r.StructuredMetadata[i].Value
		}
	}
	return r.Stream.Get(name)
}

// bareSeries returns, for a bare pipeline, the series of an entry with
// metadata sm when it depends on the stream labels alone: every sample
// goes to the series without labels, or there is no grouping and no
// metadata, or a `by` grouping takes no metadata label (and none is
// __error__). It returns nil otherwise, and Process runs the pipeline.
func (e *streamSampleExtractor) bareSeries(sm []logproto.LabelAdapter) *Series {
	x := e.x
	switch {
	case x.noLabels:
		if !x.dropErrors && (e.streamErr() || smError(sm)) {
			return nil
		}
		return emptySeries
	case len(x.groups) == 0:
		if len(sm) > 0 || e.streamErr() {
			return nil
		}
	case x.without:
		return nil
	default:
		for _, l := range sm {
			if !e.ungrouped(l.Name) {
				return nil
			}
		}
	}
	if e.bare == nil {
		if e.streamErr() {
			return nil
		}
		ls := e.out.ls[:0]
		e.lbls.Range(func(l labels.Label) {
			if len(x.groups) == 0 || e.x.grouped(l.Name) {
				ls = append(ls, l)
			}
		})
		e.out.ls = ls
		e.bare = e.series(ls)
	}
	return e.bare
}

// ungrouped reports whether a metadata label named name can be left out
// of a `by` grouping without running the pipeline: the pipeline keeps the
// name (or appends _extracted to it), it is not __error__ or
// __error_details__ (which start with "__"), and neither name is grouped
// by. The last few names found so are remembered.
func (e *streamSampleExtractor) ungrouped(name string) bool {
	for _, n := range e.ungroupedNames {
		if n == name {
			return true
		}
	}
	x := e.x
	if !plainName(name) || name[0] == '_' || x.grouped(name) || slices.Contains(x.extracted, name) {
		return false
	}
	if len(e.ungroupedNames) < 8 {
		e.ungroupedNames = append(e.ungroupedNames, strings.Clone(name))
	}
	return true
}

// streamErr reports whether the stream labels carry __error__.
func (e *streamSampleExtractor) streamErr() bool {
	if !e.bareErrSeen {
		e.bareErr, e.bareErrSeen = e.lbls.Get(syntax.ErrorLabel) != "", true
	}
	return e.bareErr
}

// smError reports whether metadata carries __error__, which the pipeline
// takes for the entry's error.
func smError(sm []logproto.LabelAdapter) bool {
	for _, l := range sm {
		if l.Name == syntax.ErrorLabel && l.Value != "" {
			return true
		}
	}
	return false
}

// plainName reports whether the pipeline keeps a metadata name as it is
// (unless it repeats a stream label): a Prometheus label name that does
// not start with a single _.
func plainName(name string) bool {
	return isLegacyName(name) && (name[0] != '_' || len(name) > 1 && name[1] == '_')
}

// byStreamGroups returns the series of a result grouped `by` labels when
// only stream labels can be among them: no structured metadata or parsed
// label is grouped by and none is __error__. The series is then the same
// for every entry of the stream, and is looked up once per stream. It
// returns nil otherwise.
func (e *streamSampleExtractor) byStreamGroups(res *LabelsResult) *Series {
	x := e.x
	for _, l := range res.Parsed {
		if l.Name == syntax.ErrorLabel && l.Value != "" || x.grouped(l.Name) {
			return nil
		}
	}
	for _, l := range res.StructuredMetadata {
		if l.Name == syntax.ErrorLabel && l.Value != "" || x.grouped(l.Name) {
			return nil
		}
	}
	g := e.lastGroup
	if g == nil || g.hash != res.Hash || !labels.Equal(g.stream, res.Stream) {
		if g = e.groupsOf[res.Hash]; g == nil || !labels.Equal(g.stream, res.Stream) {
			g = e.newStreamGroup(res)
		}
		e.lastGroup = g
	}
	if g.err {
		return nil
	}
	return g.s
}

// streamGroup is the series of the entries of one stream result grouped
// by stream labels alone.
type streamGroup struct {
	stream labels.Labels
	hash   uint64
	s      *Series
	err    bool // the stream labels carry __error__
}

func (e *streamSampleExtractor) newStreamGroup(res *LabelsResult) *streamGroup {
	ls := e.out.ls[:0]
	res.Stream.Range(func(l labels.Label) {
		if l.Value != "" && e.x.grouped(l.Name) {
			ls = append(ls, l)
		}
	})
	e.out.ls = ls
	g := &streamGroup{stream: res.Stream, hash: res.Hash, s: e.series(ls), err: res.Stream.Get(syntax.ErrorLabel) != ""}
	if e.groupsOf == nil || len(e.groupsOf) >= maxCachedSeries {
		e.groupsOf = map[uint64]*streamGroup{}
	}
	e.groupsOf[res.Hash] = g
	return g
}

// grouped reports whether name is one of the grouping labels.
func (x *sampleExtractor) grouped(name string) bool {
	if len(x.groups) <= 4 {
		for _, g := range x.groups {
			if g == name {
				return true
			}
		}
		return false
	}
	_, found := slices.BinarySearch(x.groups, name)
	return found
}

// streamSeries returns the series of a result whose labels are its stream
// labels.
func (e *streamSampleExtractor) streamSeries(res *LabelsResult) *Series {
	if c, ok := e.byStream[res.Hash]; ok && labels.Equal(c.s.Labels, res.Stream) {
		return &c.s
	}
	ls := e.set.ls[:0]
	res.Stream.Range(func(l labels.Label) { ls = append(ls, l) })
	e.set.ls = ls
	s := e.series(ls)
	if e.byStream == nil || len(e.byStream) >= maxCachedSeries {
		e.byStream = map[uint64]*cachedSeries{}
	}
	e.byStream[res.Hash] = &cachedSeries{s: *s}
	return s
}

// series returns the cached series of ls (sorted), creating it with copies
// of the strings the first time.
func (e *streamSampleExtractor) series(ls []labels.Label) *Series {
	if len(ls) == 0 {
		return emptySeries
	}
	// Entries of a stream mostly land in the series of the entry before.
	if c := e.last; c != nil && slices.Equal(c.ls, ls) {
		return &c.s
	}
	h := hashLabelSlice(&e.d, ls)
	for _, c := range e.cache[h] {
		if slices.Equal(c.ls, ls) {
			e.last = c
			return &c.s
		}
	}
	if e.n >= maxCachedSeries {
		clear(e.cache)
		e.n = 0
	}
	kept := make([]labels.Label, len(ls))
	b := labels.NewScratchBuilder(len(ls))
	for i, l := range ls {
		kept[i] = labels.Label{Name: strings.Clone(l.Name), Value: strings.Clone(l.Value)}
		b.Add(kept[i].Name, kept[i].Value)
	}
	c := &cachedSeries{ls: kept, s: Series{Labels: b.Labels(), Hash: h}}
	e.cache[h] = append(e.cache[h], c)
	e.n++
	e.last = c
	return &c.s
}

// labelSep separates names and values in label hashes; it never occurs in
// valid UTF-8.
var labelSep = []byte{0xff}

// HashLabels is the hash of a series' labels: XXH64 over name 0xff value
// 0xff for every label in order (the scheme of the stream fingerprint).
func HashLabels(lbls labels.Labels) uint64 {
	var d xxhash.Digest
	d.Reset()
	lbls.Range(func(l labels.Label) {
		_, _ = d.WriteString(l.Name)
		_, _ = d.Write(labelSep)
		_, _ = d.WriteString(l.Value)
		_, _ = d.Write(labelSep)
	})
	return d.Sum64()
}

func hashLabelSlice(d *xxhash.Digest, ls []labels.Label) uint64 {
	d.Reset()
	for _, l := range ls {
		_, _ = d.WriteString(l.Name)
		_, _ = d.Write(labelSep)
		_, _ = d.WriteString(l.Value)
		_, _ = d.Write(labelSep)
	}
	return d.Sum64()
}
