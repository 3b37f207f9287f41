package iter

import (
	"github.com/prometheus/prometheus/model/labels"
)

// Sample is one value extracted from one log entry, for a metric query.
type Sample struct {
	Timestamp int64 // Unix nanoseconds
	Value     float64
	// Hash identifies the entry the sample comes from (its stream, line
	// and structured metadata): replicas of one entry read from several
	// sources carry the same Hash, so merging drops all but one.
	Hash uint64
}

// SampleIterator yields samples in timestamp order, oldest first. Labels
// are the labels of the series the current sample belongs to; StreamHash
// identifies them. The labels returned stay valid after Next (they are
// shared and must not be modified).
type SampleIterator interface {
	Next() bool
	At() Sample
	Labels() labels.Labels
	StreamHash() uint64
	Err() error
	Close() error
}

// SeriesSample is one sample with its series, for slice-backed iterators.
type SeriesSample struct {
	Sample
	Labels labels.Labels
	Hash   uint64 // identifies Labels
}

// sampleSlice iterates over samples already in timestamp order.
type sampleSlice struct {
	samples []SeriesSample
	i       int
}

// NewSampleSliceIterator returns an iterator over samples, which must
// already be in timestamp order.
func NewSampleSliceIterator(samples []SeriesSample) SampleIterator {
	return &sampleSlice{samples: samples, i: -1}
}

func (s *sampleSlice) Next() bool {
	s.i++
	return s.i < len(s.samples)
}
func (s *sampleSlice) At() Sample            { return s.samples[s.i].Sample }
func (s *sampleSlice) Labels() labels.Labels { return s.samples[s.i].Labels }
func (s *sampleSlice) StreamHash() uint64    { return s.samples[s.i].Hash }
func (s *sampleSlice) Err() error            { return nil }
func (s *sampleSlice) Close() error          { return nil }

// emptySamples has no samples and no state, so one value can be shared.
type emptySamples struct{}

func (emptySamples) Next() bool            { return false }
func (emptySamples) At() Sample            { return Sample{} }
func (emptySamples) Labels() labels.Labels { return labels.EmptyLabels() }
func (emptySamples) StreamHash() uint64    { return 0 }
func (emptySamples) Err() error            { return nil }
func (emptySamples) Close() error          { return nil }

// EmptySamples is an iterator with no samples.
var EmptySamples SampleIterator = emptySamples{}
