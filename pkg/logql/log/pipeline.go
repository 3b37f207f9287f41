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
	// returned line and labels are valid until the next call; Process never
	// modifies line or sm.
	Process(ts int64, line []byte, sm []logproto.LabelAdapter) ([]byte, *LabelsResult, bool)
}

// stage is one step of a stream pipeline. A stage never modifies the line
// it is given: it returns it, a part of it or a buffer of its own, valid
// until its next call.
type stage interface {
	process(ts int64, line []byte, b *builder) ([]byte, bool)
}

// stageMaker returns the stage instance for one stream: a new one for
// stages that keep buffers or per-stream state, a shared one otherwise.
type stageMaker func() stage

// pipeline runs line filters that come first on the raw line, before any
// label work, then the other stages in order.
type pipeline struct {
	head   Filterer // nil keeps every line
	stages []stageMaker
	hash   func(labels.Labels) uint64
}

// NewFilterPipeline returns a pipeline that keeps the lines filter keeps (all
// lines when filter is nil) and changes no label. hash gives the identity
// of a stream's labels.
func NewFilterPipeline(filter Filterer, hash func(labels.Labels) uint64) Pipeline {
	return &pipeline{head: filter, hash: hash}
}

func (p *pipeline) ForStream(lbls labels.Labels) StreamPipeline {
	sp := &streamPipeline{head: p.head, b: newBuilder(lbls, p.hash)}
	if len(p.stages) > 0 {
		sp.stages = make([]stage, len(p.stages))
		for i, m := range p.stages {
			sp.stages[i] = m()
		}
	}
	return sp
}

type streamPipeline struct {
	head   Filterer
	stages []stage
	b      *builder
}

func (p *streamPipeline) Process(ts int64, line []byte, sm []logproto.LabelAdapter) ([]byte, *LabelsResult, bool) {
	if p.head != nil && !p.head.Filter(line) {
		return nil, nil, false
	}
	p.b.reset(sm)
	var ok bool
	for _, s := range p.stages {
		if line, ok = s.process(ts, line, p.b); !ok {
			return nil, nil, false
		}
	}
	return line, p.b.result(), true
}

// filterStage is a line filter inside the pipeline: it sees the line as the
// stages before it left it.
type filterStage struct{ f Filterer }

func (s filterStage) process(_ int64, line []byte, _ *builder) ([]byte, bool) {
	return line, s.f.Filter(line)
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

func (it *entryIterator) At() logproto.Entry    { return it.cur }
func (it *entryIterator) Labels() labels.Labels { return it.lbls }
func (it *entryIterator) StreamHash() uint64    { return it.hash }
func (it *entryIterator) Err() error            { return it.raw.Err() }
func (it *entryIterator) Close() error          { return it.raw.Close() }

// withStages returns a copy of p that runs more stages after its own, for
// extractors that continue a log pipeline.
func (p *pipeline) withStages(ms ...stageMaker) *pipeline {
	q := *p
	q.stages = append(append([]stageMaker(nil), p.stages...), ms...)
	return &q
}
