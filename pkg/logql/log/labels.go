package log

import (
	"slices"
	"strings"
	"unsafe"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/skald-logs/skald/pkg/logproto"
	"github.com/skald-logs/skald/pkg/logql/syntax"
)

// LabelsResult is the label side of a processed entry, in Loki's three
// categories:
//
//   - Stream: the stream's labels after the pipeline. Stages only ever
//     remove stream labels (drop, keep, label_format renaming a stream label
//     away); a label that a stage sets with the name of a stream label moves
//     to Parsed.
//   - StructuredMetadata: the entry's structured metadata, sorted by name. A
//     field whose name is that of a stream label is renamed name_extracted.
//   - Parsed: labels set by parsers and by label_format, and __error__ and
//     __error_details__ when a stage failed; sorted by name.
//
// A name appears in at most one category. The strings of StructuredMetadata
// and Parsed (and the values Get returns) are valid only until the next call
// to Process: copy them (strings.Clone) to keep them.
type LabelsResult struct {
	Stream             labels.Labels
	Hash               uint64 // identifies Stream
	StructuredMetadata []logproto.LabelAdapter
	Parsed             []logproto.LabelAdapter
}

// Get returns the value of a label of the entry, looking through parsed
// labels, then structured metadata, then stream labels (Loki's precedence;
// the categories never share a name). __error__ and __error_details__ are
// parsed labels.
func (r *LabelsResult) Get(name string) (string, bool) {
	for _, l := range r.Parsed {
		if l.Name == name {
			return l.Value, true
		}
	}
	for _, l := range r.StructuredMetadata {
		if l.Name == name {
			return l.Value, true
		}
	}
	if r.Stream.Has(name) {
		return r.Stream.Get(name), true
	}
	return "", false
}

// Labels returns all labels of the entry as one sorted set, as Loki merges
// them for metric queries and uncategorized answers. The strings are copied.
func (r *LabelsResult) Labels(b *labels.ScratchBuilder) labels.Labels {
	b.Reset()
	r.Stream.Range(func(l labels.Label) { b.Add(l.Name, l.Value) })
	for _, l := range r.StructuredMetadata {
		b.Add(strings.Clone(l.Name), strings.Clone(l.Value))
	}
	for _, l := range r.Parsed {
		b.Add(strings.Clone(l.Name), strings.Clone(l.Value))
	}
	b.Sort()
	return b.Labels()
}

// Clone returns a copy of r whose strings stay valid after the next call to
// Process.
func (r *LabelsResult) Clone() *LabelsResult {
	return &LabelsResult{
		Stream:             r.Stream,
		Hash:               r.Hash,
		StructuredMetadata: cloneLabels(r.StructuredMetadata),
		Parsed:             cloneLabels(r.Parsed),
	}
}

// cloneLabels deep-copies ls (nil when empty).
func cloneLabels(ls []logproto.LabelAdapter) []logproto.LabelAdapter {
	if len(ls) == 0 {
		return nil
	}
	out := make([]logproto.LabelAdapter, len(ls))
	for i, l := range ls {
		out[i] = logproto.LabelAdapter{Name: strings.Clone(l.Name), Value: strings.Clone(l.Value)}
	}
	return out
}

const (
	errorLabel        = syntax.ErrorLabel
	errorDetailsLabel = syntax.ErrorDetailsLabel
	duplicateSuffix   = "_extracted"
)

// Values of __error__ that stages set, as Loki spells them.
const (
	errJSON           = "JSONParserErr"
	errLogfmt         = "LogfmtParserErr"
	errLabelFilter    = "LabelFilterErr"
	errTemplateFormat = "TemplateFormatErr"
)

// entryLabel is one structured-metadata or parsed label of the entry being
// processed. base is the index of the stream label it shadows, or -1.
type entryLabel struct {
	name, value string
	base        int
}

// streamResult is a cached stream label set and its hash.
type streamResult struct {
	lbls labels.Labels
	hash uint64
}

// builder holds the labels of the entry a stream pipeline is processing,
// with Loki's LabelsBuilder semantics: stream labels can be deleted, and
// structured metadata and parsed labels set; a parsed label replaces a
// structured-metadata field of the same name and hides a stream label of
// that name. One builder per StreamPipeline; it allocates nothing per entry
// once its buffers have grown.
type builder struct {
	base      []labels.Label // the stream labels, sorted
	baseIdx   map[string]int
	baseRes   streamResult
	hash      func(labels.Labels) uint64
	deleted   []bool // per stream label
	streams   map[string]streamResult
	maskBuf   []byte
	changed   bool // some stream label is deleted or hidden
	sm        []entryLabel
	smBloom   uint64 // bloomBit of every sm name
	parsed    []entryLabel
	err       string
	errDet    string
	gen       uint64    // entry counter, for keyTable slots
	owner     *keyTable // when not nil, every parsed label was set through it this entry
	arena     []byte    // backs values made for this entry
	smIn      []logproto.LabelAdapter
	smOut     []logproto.LabelAdapter
	smSame    bool // smOut would equal smIn
	outBuf    []logproto.LabelAdapter
	sortedBuf []logproto.LabelAdapter
	order     []int    // sorted order of parsed, for lastNames
	lastName  []string // names of parsed when order was computed
	res       LabelsResult
}

func newBuilder(lbls labels.Labels, hash func(labels.Labels) uint64) *builder {
	b := &builder{hash: hash, baseIdx: make(map[string]int, lbls.Len())}
	lbls.Range(func(l labels.Label) {
		b.baseIdx[l.Name] = len(b.base)
		b.base = append(b.base, l)
	})
	b.baseRes = streamResult{lbls: lbls, hash: hash(lbls)}
	b.deleted = make([]bool, len(b.base))
	return b
}

// reset starts a new entry with structured metadata sm.
func (b *builder) reset(sm []logproto.LabelAdapter) {
	b.gen++
	b.owner = nil
	b.arena = b.arena[:0]
	b.sm = b.sm[:0]
	b.parsed = b.parsed[:0]
	b.err, b.errDet = "", ""
	b.smBloom = 0
	if b.changed {
		clear(b.deleted)
		b.changed = false
	}
	b.smIn = sm
	b.smSame = true
	prev := ""
	for i, l := range sm {
		name := l.Name
		if !isLegacyName(name) || name[0] == '_' && (len(name) < 2 || name[1] != '_') {
			name = normalizeMetadataName(name, b)
			b.smSame = false
		}
		if _, ok := b.baseIdx[name]; ok {
			name = b.arenaString2(name, duplicateSuffix)
			b.smSame = false
		}
		switch name {
		case errorLabel:
			b.err = l.Value
			b.smSame = false
			continue
		case errorDetailsLabel:
			b.errDet = l.Value
			b.smSame = false
			continue
		}
		if i > 0 && name <= prev {
			b.smSame = false // unsorted or duplicated
		}
		prev = name
		b.setSM(name, l.Value)
	}
}

// setSM sets a structured-metadata field (last value wins).
func (b *builder) setSM(name, value string) {
	for i := range b.sm {
		if b.sm[i].name == name {
			b.sm[i].value = value
			return
		}
	}
	bi := b.baseIndex(name)
	if bi >= 0 {
		b.changed = true
	}
	b.sm = append(b.sm, entryLabel{name: name, value: value, base: bi})
	b.smBloom |= bloomBit(name)
}

func (b *builder) baseIndex(name string) int {
	if i, ok := b.baseIdx[name]; ok {
		return i
	}
	return -1
}

// baseHas reports whether the stream (before any stage) has the label: the
// rule for the _extracted suffix.
func (b *builder) baseHas(name string) bool {
	_, ok := b.baseIdx[name]
	return ok
}

// get returns the current value of a label (not __error__).
func (b *builder) get(name string) (string, bool) {
	for i := range b.parsed {
		if b.parsed[i].name == name {
			return b.parsed[i].value, true
		}
	}
	if len(b.sm) > 0 && b.smBloom&bloomBit(name) != 0 {
		for i := range b.sm {
			if b.sm[i].name == name {
				return b.sm[i].value, true
			}
		}
	}
	if i, ok := b.baseIdx[name]; ok && !b.deleted[i] {
		return b.base[i].Value, true
	}
	return "", false
}

// set sets a parsed label, replacing a structured-metadata field or hiding a
// stream label of the same name.
func (b *builder) set(name, value string) {
	b.owner = nil
	for i := range b.parsed {
		if b.parsed[i].name == name {
			b.parsed[i].value = value
			return
		}
	}
	b.appendParsed(name, value, b.baseIndex(name), bloomBit(name))
}

func (b *builder) appendParsed(name, value string, bi int, bit uint64) {
	if b.smBloom&bit != 0 {
		b.delSM(name)
	}
	if bi >= 0 {
		b.changed = true
	}
	b.parsed = append(b.parsed, entryLabel{name: name, value: value, base: bi})
}

// setKey sets the parsed label of a key interned in t. While every parsed
// label of the entry came through t, finding the label is O(1).
func (b *builder) setKey(t *keyTable, k *keyEntry, value string) {
	if b.owner != t {
		if len(b.parsed) != 0 {
			b.set(k.name, value)
			return
		}
		b.owner = t
		b.gen++ // slots recorded before this claim are stale
	}
	if k.gen == b.gen {
		b.parsed[k.slot].value = value
		return
	}
	k.gen, k.slot = b.gen, len(b.parsed)
	b.appendParsed(k.name, value, k.base, k.bit)
}

func (b *builder) delSM(name string) {
	for i := range b.sm {
		if b.sm[i].name == name {
			b.sm = append(b.sm[:i], b.sm[i+1:]...)
			b.smSame = false
			return
		}
	}
}

// del deletes a label from every category.
func (b *builder) del(name string) {
	for i := range b.parsed {
		if b.parsed[i].name == name {
			b.parsed = append(b.parsed[:i], b.parsed[i+1:]...)
			b.owner = nil
			break
		}
	}
	if len(b.sm) > 0 && b.smBloom&bloomBit(name) != 0 {
		b.delSM(name)
	}
	if i, ok := b.baseIdx[name]; ok && !b.deleted[i] {
		b.deleted[i] = true
		b.changed = true
	}
}

func (b *builder) setErr(err, details string) {
	b.err, b.errDet = err, details
}

// each calls f for every current label, the error labels last: Loki's
// unsorted label view.
func (b *builder) each(f func(name, value string)) {
	for i, l := range b.base {
		if b.changed && (b.deleted[i] || b.hidden(i)) {
			continue
		}
		f(l.Name, l.Value)
	}
	for _, l := range b.sm {
		f(l.name, l.value)
	}
	for _, l := range b.parsed {
		if l.name == errorLabel && b.err != "" {
			continue
		}
		f(l.name, l.value)
	}
	if b.err != "" {
		f(errorLabel, b.err)
	}
	if b.errDet != "" {
		f(errorDetailsLabel, b.errDet)
	}
}

// hidden reports whether stream label i is hidden by a label of another
// category.
func (b *builder) hidden(i int) bool {
	for _, l := range b.sm {
		if l.base == i {
			return true
		}
	}
	for _, l := range b.parsed {
		if l.base == i {
			return true
		}
	}
	return false
}

// result returns the entry's labels. It is valid until the next reset.
func (b *builder) result() *LabelsResult {
	r := &b.res
	r.Stream, r.Hash = b.baseRes.lbls, b.baseRes.hash
	if b.changed {
		s := b.streamResult()
		r.Stream, r.Hash = s.lbls, s.hash
	}
	r.StructuredMetadata = b.smResult()
	r.Parsed = b.parsedResult()
	return r
}

// streamResult returns the stream labels that are neither deleted nor
// hidden, cached by the set of labels kept.
func (b *builder) streamResult() streamResult {
	n := (len(b.base) + 7) / 8
	mask := b.maskBuf[:0]
	for range n {
		mask = append(mask, 0)
	}
	for i := range b.base {
		if !b.deleted[i] {
			mask[i/8] |= 1 << (i % 8)
		}
	}
	for _, l := range b.sm {
		if l.base >= 0 {
			mask[l.base/8] &^= 1 << (l.base % 8)
		}
	}
	for _, l := range b.parsed {
		if l.base >= 0 {
			mask[l.base/8] &^= 1 << (l.base % 8)
		}
	}
	b.maskBuf = mask
	if s, ok := b.streams[string(mask)]; ok {
		return s
	}
	sb := labels.NewScratchBuilder(len(b.base))
	for i, l := range b.base {
		if mask[i/8]&(1<<(i%8)) != 0 {
			sb.Add(l.Name, l.Value)
		}
	}
	lbls := sb.Labels()
	s := streamResult{lbls: lbls, hash: b.hash(lbls)}
	if b.streams == nil {
		b.streams = map[string]streamResult{}
	}
	b.streams[string(mask)] = s
	return s
}

func (b *builder) smResult() []logproto.LabelAdapter {
	if len(b.sm) == 0 {
		return nil
	}
	if b.smSame && len(b.sm) == len(b.smIn) {
		return b.smIn
	}
	out := b.smOut[:0]
	for _, l := range b.sm {
		out = append(out, logproto.LabelAdapter{Name: l.name, Value: l.value})
	}
	slices.SortFunc(out, func(x, y logproto.LabelAdapter) int { return strings.Compare(x.Name, y.Name) })
	b.smOut = out
	return out
}

// parsedResult returns the parsed labels and the error labels sorted by
// name. Entries of a stream usually yield the same names in the same order,
// so the sorted order of the previous entry is tried first.
func (b *builder) parsedResult() []logproto.LabelAdapter {
	out := b.outBuf[:0]
	hasErrLabel := false
	for _, l := range b.parsed {
		if l.name == errorLabel && b.err != "" {
			hasErrLabel = true
			continue
		}
		out = append(out, logproto.LabelAdapter{Name: l.name, Value: l.value})
	}
	if b.err != "" {
		out = append(out, logproto.LabelAdapter{Name: errorLabel, Value: b.err})
	}
	if b.errDet != "" {
		out = append(out, logproto.LabelAdapter{Name: errorDetailsLabel, Value: b.errDet})
	}
	b.outBuf = out
	if len(out) == 0 {
		return nil
	}
	if hasErrLabel || !b.sameNames(out) {
		b.order = b.order[:0]
		for i := range out {
			b.order = append(b.order, i)
		}
		slices.SortStableFunc(b.order, func(x, y int) int { return strings.Compare(out[x].Name, out[y].Name) })
		b.lastName = b.lastName[:0]
		for _, l := range out {
			b.lastName = append(b.lastName, l.Name)
		}
		if hasErrLabel {
			b.lastName = b.lastName[:0] // do not reuse an order made without it
		}
	}
	if isIdentity(b.order) {
		return out
	}
	sorted := b.sortedBuf[:0]
	for _, j := range b.order {
		sorted = append(sorted, out[j])
	}
	b.sortedBuf = sorted
	return sorted
}

// sameNames reports whether out has the names the cached order was made
// for. Names usually come from intern tables, so the comparison is mostly
// a pointer check.
func (b *builder) sameNames(out []logproto.LabelAdapter) bool {
	if len(out) != len(b.lastName) || len(b.order) != len(out) {
		return false
	}
	for i, l := range out {
		if l.Name != b.lastName[i] {
			return false
		}
	}
	return true
}

func isIdentity(order []int) bool {
	for i, j := range order {
		if i != j {
			return false
		}
	}
	return true
}

// arenaBytes appends p to the entry's arena and returns it as a string valid
// until the next entry.
func (b *builder) arenaString(p []byte) string {
	if len(p) == 0 {
		return ""
	}
	start := len(b.arena)
	b.arena = append(b.arena, p...)
	return unsafe.String(&b.arena[start], len(p))
}

// arenaString2 returns a+c in the arena.
func (b *builder) arenaString2(a, c string) string {
	start := len(b.arena)
	b.arena = append(b.arena, a...)
	b.arena = append(b.arena, c...)
	if len(b.arena) == start {
		return ""
	}
	return unsafe.String(&b.arena[start], len(b.arena)-start)
}

// bloomBit maps a name to one of 64 bits, for quick "not there" checks.
func bloomBit(name string) uint64 {
	h := uint32(2166136261)
	for i := 0; i < len(name); i++ {
		h = (h ^ uint32(name[i])) * 16777619
	}
	return 1 << (h & 63)
}

// isLegacyName reports whether s is a valid Prometheus label name.
func isLegacyName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '_' || 'a' <= c|0x20 && c|0x20 <= 'z' || i > 0 && '0' <= c && c <= '9' {
			continue
		}
		return false
	}
	return true
}

// normalizeMetadataName applies Loki's normalization of structured-metadata
// names (Prometheus' OTLP NormalizeLabel): characters other than ASCII
// letters, digits and _ become _, a leading digit gets the prefix key_, and a
// single leading _ the prefix key.
func normalizeMetadataName(name string, b *builder) string {
	if name == "" {
		return name
	}
	start := len(b.arena)
	if '0' <= name[0] && name[0] <= '9' {
		b.arena = append(b.arena, "key_"...)
	} else if name[0] == '_' && (len(name) < 2 || name[1] != '_') {
		b.arena = append(b.arena, "key"...)
	}
	for _, r := range name {
		if r < 0x80 && (r == '_' || 'a' <= r|0x20 && r|0x20 <= 'z' || '0' <= r && r <= '9') {
			b.arena = append(b.arena, byte(r))
		} else {
			b.arena = append(b.arena, '_')
		}
	}
	return unsafe.String(&b.arena[start], len(b.arena)-start)
}
