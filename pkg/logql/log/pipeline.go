package log

import (
	"github.com/prometheus/prometheus/model/labels"

	"github.com/skald-logs/skald/pkg/iter"
	"github.com/skald-logs/skald/pkg/logproto"
)

// Pipeline is a compiled log pipeline, shared by every stream of one query.
// It is safe for concurrent use; the StreamPipelines it returns are not.
type Pipeline interface {
	ForStream(lbls labels.Labels) StreamPipeline
}

// StreamPipeline processes the entries of one stream, in any order.
type StreamPipeline interface {
	// Process runs the stages over one entry and reports whether it is kept,
	// with the (possibly rewritten) line and the entry's result labels. The
	// returned line and labels are valid until the next call.
	Process(ts int64, line []byte, sm []logproto.LabelAdapter) ([]byte, *LabelsResult, bool)
}

// LabelsResult is the label side of a processed entry: the stream's labels
// after the pipeline, and the entry's structured metadata and parsed labels.
type LabelsResult struct {
	Stream             labels.Labels
	Hash               uint64 // identifies Stream
	StructuredMetadata []logproto.LabelAdapter
	Parsed             []logproto.LabelAdapter
}

// filterPipeline is a pipeline made of line filters only: labels pass through
// unchanged.
type filterPipeline struct {
	filter Filterer // nil keeps every line
	hash   func(labels.Labels) uint64
}

// NewFilterPipeline returns a pipeline that keeps the lines filter keeps (all
// lines when filter is nil) and changes nothing else. hash gives the identity
// of a stream's labels.
func NewFilterPipeline(filter Filterer, hash func(labels.Labels) uint64) Pipeline {
	return &filterPipeline{filter: filter, hash: hash}
}

func (p *filterPipeline) ForStream(lbls labels.Labels) StreamPipeline {
	return &filterStreamPipeline{filter: p.filter, res: LabelsResult{Stream: lbls, Hash: p.hash(lbls)}}
}

type filterStreamPipeline struct {
	filter Filterer
	res    LabelsResult
}

func (p *filterStreamPipeline) Process(_ int64, line []byte, sm []logproto.LabelAdapter) ([]byte, *LabelsResult, bool) {
	if p.filter != nil && !p.filter.Filter(line) {
		return nil, nil, false
	}
	p.res.StructuredMetadata = sm
	return line, &p.res, true
}

// RawIterator is what chunks yield: entries whose line and metadata are only
// valid until the next call to Next.
type RawIterator interface {
	Next() bool
	At() (ts int64, line []byte, sm []logproto.LabelAdapter)
	Err() error
	Close() error
}

// Counters accumulate what a query read; one per source iterator.
type Counters struct {
	Lines      int64 // entries read
	Bytes      int64 // bytes of lines read
	PostFilter int64 // entries kept
}

// entryIterator runs a stream pipeline over a raw iterator and copies out the
// entries it keeps.
type entryIterator struct {
	raw  RawIterator
	sp   StreamPipeline
	c    *Counters
	cur  logproto.Entry
	lbls labels.Labels
	hash uint64
}

// NewEntryIterator returns an iterator over the entries of raw that sp keeps.
// sp must not be shared with another iterator. c, when not nil, counts the
// work.
func NewEntryIterator(raw RawIterator, sp StreamPipeline, c *Counters) iter.EntryIterator {
	if c == nil {
		c = &Counters{}
	}
	return &entryIterator{raw: raw, sp: sp, c: c}
}

func (it *entryIterator) Next() bool {
	for it.raw.Next() {
		ts, line, sm := it.raw.At()
		it.c.Lines++
		it.c.Bytes += int64(len(line))
		out, res, ok := it.sp.Process(ts, line, sm)
		if !ok {
			continue
		}
		it.c.PostFilter++
		it.cur = logproto.Entry{
			Timestamp:          ts,
			Line:               string(out),
			StructuredMetadata: cloneLabels(res.StructuredMetadata),
			Parsed:             cloneLabels(res.Parsed),
		}
		it.lbls, it.hash = res.Stream, res.Hash
		return true
	}
	return false
}

func cloneLabels(ls []logproto.LabelAdapter) []logproto.LabelAdapter {
	if len(ls) == 0 {
		return nil
	}
	out := make([]logproto.LabelAdapter, len(ls))
	copy(out, ls)
	return out
}

func (it *entryIterator) At() logproto.Entry    { return it.cur }
func (it *entryIterator) Labels() labels.Labels { return it.lbls }
func (it *entryIterator) StreamHash() uint64    { return it.hash }
func (it *entryIterator) Err() error            { return it.raw.Err() }
func (it *entryIterator) Close() error          { return it.raw.Close() }
