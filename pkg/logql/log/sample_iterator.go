package log

import (
	"github.com/cespare/xxhash/v2"
	"github.com/prometheus/prometheus/model/labels"

	"github.com/skald-logs/skald/pkg/iter"
	"github.com/skald-logs/skald/pkg/logproto"
)

// sampleIterator runs a stream sample extractor over a raw iterator, in the
// raw iterator's (forward) order. Lines are read where the raw iterator
// keeps them: nothing is copied for the entries that become samples, and
// an entry's hash is computed only when asked.
type sampleIterator struct {
	raw        RawIterator
	sx         StreamSampleExtractor
	streamHash uint64
	c          *Counters
	d          xxhash.Digest
	ts         int64
	v          float64
	series     *Series
	line       []byte // valid until the raw iterator moves
	sm         []logproto.LabelAdapter
}

// NewSampleIterator returns the samples sx extracts from raw, which must
// yield one stream's entries oldest first. streamHash identifies the
// stream; it goes into each sample's entry hash, so that replicas of an
// entry read from several sources are recognised (iter.Sample.Hash). c,
// when not nil, counts the work.
func NewSampleIterator(raw RawIterator, sx StreamSampleExtractor, streamHash uint64, c *Counters) iter.SampleIterator {
	return newSampleIterator(raw, sx, streamHash, c)
}

// NewStreamSampleIterator is NewSampleIterator for consumers that take a
// stream's samples on their own (iter.SampleSet): it computes an entry's
// hash only when asked.
func NewStreamSampleIterator(raw RawIterator, sx StreamSampleExtractor, streamHash uint64, c *Counters) iter.StreamSampleIterator {
	return newSampleIterator(raw, sx, streamHash, c)
}

func newSampleIterator(raw RawIterator, sx StreamSampleExtractor, streamHash uint64, c *Counters) *sampleIterator {
	if c == nil {
		c = &Counters{}
	}
	return &sampleIterator{raw: raw, sx: sx, streamHash: streamHash, c: c}
}

func (it *sampleIterator) Next() bool {
	for it.raw.Next() {
		ts, line, sm := it.raw.At()
		it.c.Lines++
		it.c.Bytes += int64(len(line))
		v, s, ok := it.sx.Process(ts, line, sm)
		if !ok {
			continue
		}
		it.c.PostFilter++
		it.ts, it.v, it.series, it.line, it.sm = ts, v, s, line, sm
		return true
	}
	it.line, it.sm = nil, nil
	return false
}

func (it *sampleIterator) At() iter.Sample {
	return iter.Sample{Timestamp: it.ts, Value: it.v, Hash: it.EntryHash()}
}

func (it *sampleIterator) Sample() (int64, float64, *iter.Series) { return it.ts, it.v, it.series }
func (it *sampleIterator) EntryHash() uint64 {
	return EntryHash(&it.d, it.streamHash, it.line, it.sm)
}
func (it *sampleIterator) Labels() labels.Labels { return it.series.Labels }
func (it *sampleIterator) StreamHash() uint64    { return it.series.Hash }
func (it *sampleIterator) Err() error            { return it.raw.Err() }
func (it *sampleIterator) Close() error          { return it.raw.Close() }

// EntryHash is the identity of an entry of a stream for sample
// deduplication: XXH64 of the line mixed with the stream hash, plus a hash
// of each structured-metadata label, in any order (sources may list them
// in different orders). d is scratch state for the metadata.
func EntryHash(d *xxhash.Digest, streamHash uint64, line []byte, sm []logproto.LabelAdapter) uint64 {
	h := xxhash.Sum64(line) ^ (streamHash * 0xC2B2AE3D27D4EB4F)
	for _, l := range sm {
		d.Reset()
		_, _ = d.WriteString(l.Name)
		_, _ = d.Write(labelSep)
		_, _ = d.WriteString(l.Value)
		h += d.Sum64() * 0x9E3779B97F4A7C15 // commutative, so order does not matter
	}
	return h
}
