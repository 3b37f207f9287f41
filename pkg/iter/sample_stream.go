package iter

import (
	"github.com/prometheus/prometheus/model/labels"
)

// Series identifies the series of samples: its labels and their hash. A
// source hands out one *Series per series it meets and the same pointer
// for every sample of it, so that a consumer can recognise a series by
// pointer before it compares labels.
type Series struct {
	Labels labels.Labels
	Hash   uint64
}

// StreamSampleIterator yields the samples of one stream, oldest first,
// without a global merge: a consumer that evaluates series on their own
// needs no order across streams.
type StreamSampleIterator interface {
	Next() bool
	// Sample returns the current sample's time (Unix ns), value and
	// series. The series is shared, must not be modified and stays valid
	// after Next.
	Sample() (ts int64, v float64, s *Series)
	// EntryHash is the current sample's entry hash (see Sample.Hash). It
	// may be computed only when asked, which only replicas that meet at
	// one timestamp need; it is valid until Next.
	EntryHash() uint64
	Err() error
	Close() error
}

// StreamSamples is the part of a query's samples that one source holds
// for one stream.
type StreamSamples struct {
	Labels      labels.Labels // the stream's labels
	Fingerprint uint64        // identifies Labels
	It          StreamSampleIterator
}

// SampleSet is the samples of many streams, kept per stream. A consumer
// that evaluates each stream on its own takes them with Streams; as a
// SampleIterator it yields them merged in time order, replicas dropped,
// like NewSampleMergeIterator.
type SampleSet struct {
	parts  []StreamSamples
	merged SampleIterator
	taken  bool
}

// NewSampleSet returns the set of parts; parts of one stream (equal
// labels) from several sources may hold replicas of one entry, which the
// set drops.
func NewSampleSet(parts []StreamSamples) *SampleSet {
	return &SampleSet{parts: parts}
}

// JoinSampleSets returns a set with the parts of sets, in order. The sets
// must not be used after.
func JoinSampleSets(sets ...*SampleSet) *SampleSet {
	var parts []StreamSamples
	for _, s := range sets {
		parts = append(parts, s.parts...)
		s.parts, s.taken = nil, true
	}
	return &SampleSet{parts: parts}
}

// Streams returns one iterator per stream, in the order in which the
// streams first occur among the parts: a stream's parts merged in time
// order (ties in the order of the parts), replicas of an entry (equal
// time, series and entry hash in two parts) dropped. The caller closes
// them. Streams is called at most once, and not after Next.
func (s *SampleSet) Streams() []StreamSampleIterator {
	s.taken = true
	type group struct {
		lbls labels.Labels
		its  []StreamSampleIterator
	}
	var (
		groups []*group
		byFP   = make(map[uint64][]*group, len(s.parts))
	)
	for _, p := range s.parts {
		var g *group
		for _, c := range byFP[p.Fingerprint] {
			if labels.Equal(c.lbls, p.Labels) {
				g = c
				break
			}
		}
		if g == nil {
			g = &group{lbls: p.Labels}
			byFP[p.Fingerprint] = append(byFP[p.Fingerprint], g)
			groups = append(groups, g)
		}
		g.its = append(g.its, p.It)
	}
	s.parts = nil
	out := make([]StreamSampleIterator, len(groups))
	for i, g := range groups {
		out[i] = NewStreamMerge(g.its, nil)
	}
	return out
}

func (s *SampleSet) Next() bool {
	if s.merged == nil {
		if s.taken {
			return false
		}
		streams := s.Streams()
		its := make([]SampleIterator, len(streams))
		for i, st := range streams {
			its[i] = &streamAsSamples{it: st}
		}
		s.merged = NewSampleMergeIterator(its)
	}
	return s.merged.Next()
}

func (s *SampleSet) At() Sample            { return s.merged.At() }
func (s *SampleSet) Labels() labels.Labels { return s.merged.Labels() }
func (s *SampleSet) StreamHash() uint64    { return s.merged.StreamHash() }

func (s *SampleSet) Err() error {
	if s.merged == nil {
		return nil
	}
	return s.merged.Err()
}

func (s *SampleSet) Close() error {
	if s.merged != nil {
		return s.merged.Close()
	}
	for _, p := range s.parts {
		_ = p.It.Close()
	}
	s.parts = nil
	return nil
}

// streamAsSamples is a StreamSampleIterator seen as a SampleIterator.
type streamAsSamples struct {
	it StreamSampleIterator
	s  *Series
}

func (a *streamAsSamples) Next() bool {
	if !a.it.Next() {
		return false
	}
	_, _, a.s = a.it.Sample()
	return true
}

func (a *streamAsSamples) At() Sample {
	ts, v, _ := a.it.Sample()
	return Sample{Timestamp: ts, Value: v, Hash: a.it.EntryHash()}
}

func (a *streamAsSamples) Labels() labels.Labels { return a.s.Labels }
func (a *streamAsSamples) StreamHash() uint64    { return a.s.Hash }
func (a *streamAsSamples) Err() error            { return a.it.Err() }
func (a *streamAsSamples) Close() error          { return a.it.Close() }
