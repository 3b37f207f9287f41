package querier

import (
	"cmp"
	"context"
	"errors"
	"slices"
	"time"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/skald-logs/skald/pkg/iter"
	"github.com/skald-logs/skald/pkg/logproto"
	"github.com/skald-logs/skald/pkg/logql"
	"github.com/skald-logs/skald/pkg/logql/log"
	"github.com/skald-logs/skald/pkg/logql/syntax"
	"github.com/skald-logs/skald/pkg/storage"
)

// matchAny is the selector that asks for the volume of every stream.
const matchAny = "{}"

// volumeBucketGap separates the reported time of a bucket from the start of
// the next one, as Loki's splits do.
const volumeBucketGap = int64(time.Millisecond)

// ErrVolumeUnsupported is returned when the store cannot report volumes.
var ErrVolumeUnsupported = errors.New("the store does not report volumes")

// badRequestError is a request the caller must fix (logql.ErrBadRequest).
type badRequestError string

func (e badRequestError) Error() string        { return string(e) }
func (e badRequestError) Is(target error) bool { return target == logql.ErrBadRequest }

// StreamVolumer reports the volume of streams chunk by chunk, without
// reading the chunks. *storage.Store implements it. An ingester source may
// implement it too, reporting only the chunks it has not flushed (as Loki's
// ingesters do); otherwise the querier counts the ingesters' entries one by
// one. It is called concurrently.
type StreamVolumer interface {
	StreamVolumes(ctx context.Context, tenant string, from, through int64, matchers []*labels.Matcher) ([]storage.StreamVolume, error)
}

// Volume answers Loki's /index/volume and /index/volume_range. Stored
// chunks are counted from the index (a chunk straddling a bucket bound
// counts for the share of its time span inside); entries the ingesters still
// hold are counted line by line, leaving out those a stored chunk of the
// same stream already covers.
//
// Grouping follows Loki: without TargetLabels a stream is aggregated into
// the labels named by the selector's matchers (all of its labels for "{}");
// with TargetLabels into those labels, and only streams that have all of
// them count. By labels, each label name of a stream (or each target label)
// receives the stream's bytes.
func (q *Querier) Volume(ctx context.Context, tenant string, r logproto.VolumeRequest) ([]logproto.VolumeBucket, error) {
	switch r.AggregateBy {
	case "":
		r.AggregateBy = logproto.AggregateBySeries
	case logproto.AggregateBySeries, logproto.AggregateByLabels:
	default:
		return nil, badRequestError("invalid aggregation option")
	}
	g, err := newVolumeGrouping(r)
	if err != nil {
		return nil, err
	}
	buckets := volumeBuckets(r.Start, r.End, r.Step)
	acc := newVolumeAcc(len(buckets))

	vs, ok := q.store.(StreamVolumer)
	if !ok {
		return nil, ErrVolumeUnsupported
	}
	stored, err := vs.StreamVolumes(ctx, tenant, r.Start, r.End, g.matchers)
	if err != nil {
		return nil, err
	}
	chunks := make(map[string][]storage.ChunkVolume, len(stored))
	for _, sv := range stored {
		key := sv.Labels.String()
		chunks[key] = append(chunks[key], sv.Chunks...)
		addStored(sv, buckets, acc, g)
	}

	if from, through, ok := q.askIngesters(r.Start, r.End); ok {
		if err := q.ingesterVolume(ctx, tenant, from, through, g, chunks, buckets, acc); err != nil {
			return nil, err
		}
	}

	out := make([]logproto.VolumeBucket, len(buckets))
	for i, b := range buckets {
		b.Volumes = acc.result(i, r.Limit)
		out[i] = b
	}
	return out, ctx.Err()
}

// addStored spreads a stream's chunks over the buckets, each chunk over the
// buckets its span touches.
func addStored(sv storage.StreamVolume, buckets []logproto.VolumeBucket, acc *volumeAcc, g *volumeGrouping) {
	sums := make(map[int]uint64, 1)
	for _, c := range sv.Chunks {
		i, _ := slices.BinarySearchFunc(buckets, c.From, func(b logproto.VolumeBucket, ts int64) int {
			if b.End <= ts {
				return -1
			}
			return 1
		})
		for ; i < len(buckets) && buckets[i].Start <= c.Through; i++ {
			if n := c.BytesIn(buckets[i].Start, buckets[i].End); n > 0 {
				sums[i] += n
			}
		}
	}
	for i, n := range sums {
		acc.add(i, sv.Labels, n, g)
	}
}

// ingesterVolume counts what the ingesters hold in [from, through) and the
// store does not: their unflushed chunks when they report volumes,
// otherwise their entries that no stored chunk of the same stream covers.
func (q *Querier) ingesterVolume(ctx context.Context, tenant string, from, through int64, g *volumeGrouping,
	chunks map[string][]storage.ChunkVolume, buckets []logproto.VolumeBucket, acc *volumeAcc) error {
	if vs, ok := q.ingesters.(StreamVolumer); ok {
		held, err := vs.StreamVolumes(ctx, tenant, from, through, g.matchers)
		if err != nil {
			return err
		}
		for _, sv := range held {
			addStored(sv, buckets, acc, g)
		}
		return nil
	}
	selectors := [][]*labels.Matcher{g.matchers}
	if len(g.matchers) == 0 {
		// Remote ingesters refuse a selector that matches every stream:
		// cover the streams they hold with selectors on shared labels.
		series, err := q.ingesters.Series(ctx, tenant, from, through, nil)
		if err != nil {
			return err
		}
		selectors = coverSelectors(series)
	}
	counted := map[string]bool{}
	for _, ms := range selectors {
		it, err := q.ingesters.SelectLogs(ctx, tenant, logql.SelectLogParams{
			Start: from, End: through, Direction: logproto.Forward,
			Query: syntax.MatchersString(ms), Matchers: ms,
			Pipeline: log.NewFilterPipeline(nil, func(l labels.Labels) uint64 { return l.Hash() }),
		})
		if err != nil {
			return err
		}
		err = countEntries(ctx, it, chunks, counted, buckets, acc, g)
		_ = it.Close()
		if err != nil {
			return err
		}
	}
	return nil
}

// coverSelectors returns selectors of the form {name=~".+"} that together
// match every one of series, few of them: each takes the label name that
// most of the series not matched yet have.
func coverSelectors(series []labels.Labels) [][]*labels.Matcher {
	var out [][]*labels.Matcher
	left := slices.Clone(series)
	for len(left) > 0 {
		counts := map[string]int{}
		for _, s := range left {
			s.Range(func(l labels.Label) { counts[l.Name]++ })
		}
		best := ""
		for name, n := range counts {
			if n > counts[best] || n == counts[best] && name < best {
				best = name
			}
		}
		if best == "" {
			break // series without labels cannot be selected
		}
		out = append(out, []*labels.Matcher{labels.MustNewMatcher(labels.MatchRegexp, best, ".+")})
		left = slices.DeleteFunc(left, func(s labels.Labels) bool { return s.Get(best) != "" })
	}
	return out
}

func countEntries(ctx context.Context, it iter.EntryIterator, chunks map[string][]storage.ChunkVolume, counted map[string]bool,
	buckets []logproto.VolumeBucket, acc *volumeAcc, g *volumeGrouping) error {
	type stream struct {
		lbls   labels.Labels
		key    string
		skip   bool // counted by an earlier pass
		chunks []storage.ChunkVolume
		// The bytes of the buckets the stream has entries in, in the
		// order met (a stream's entries come in time order, so a bucket
		// is one run): only those buckets take memory.
		buckets []int
		bytes   []uint64
	}
	byHash := map[uint64][]*stream{}
	var streams []*stream
	b := 0
	for n := 0; it.Next(); n++ {
		if n%4096 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		lbls, h := it.Labels(), it.StreamHash()
		var st *stream
		for _, s := range byHash[h] {
			if labels.Equal(s.lbls, lbls) {
				st = s
				break
			}
		}
		if st == nil {
			key := lbls.String()
			st = &stream{lbls: lbls, key: key, skip: counted[key], chunks: chunks[key]}
			byHash[h] = append(byHash[h], st)
			streams = append(streams, st)
		}
		if st.skip {
			continue
		}
		e := it.At()
		if slices.ContainsFunc(st.chunks, func(c storage.ChunkVolume) bool { return c.Contains(e.Timestamp) }) {
			continue
		}
		for b < len(buckets)-1 && e.Timestamp >= buckets[b].End {
			b++
		}
		for b > 0 && e.Timestamp < buckets[b].Start {
			b--
		}
		if n := len(st.buckets); n == 0 || st.buckets[n-1] != b {
			st.buckets = append(st.buckets, b)
			st.bytes = append(st.bytes, 0)
		}
		st.bytes[len(st.bytes)-1] += uint64(len(e.Line))
	}
	if err := it.Err(); err != nil {
		return err
	}
	for _, st := range streams {
		if st.skip {
			continue
		}
		counted[st.key] = true
		for i, b := range st.buckets {
			acc.add(b, st.lbls, st.bytes[i], g)
		}
	}
	return nil
}

// volumeBuckets splits [start, end) as Loki's frontend splits a volume
// request: buckets aligned to multiples of step, the first starting at
// start and the last ending at end.
func volumeBuckets(start, end, step int64) []logproto.VolumeBucket {
	if step <= 0 || end <= start {
		return []logproto.VolumeBucket{{Start: start, End: end, Time: end}}
	}
	var out []logproto.VolumeBucket
	aligned := start - floorMod(start, step)
	if aligned > start {
		aligned = start // start - floorMod wrapped below the int64 range
	}
	for s := aligned; ; s += step {
		b := logproto.VolumeBucket{Start: max(s, start)}
		// end-s is exact as an unsigned number, as s < end.
		if uint64(end)-uint64(s) <= uint64(step) {
			b.End, b.Time = end, end
			return append(out, b)
		}
		b.End = s + step
		b.Time = b.End - volumeBucketGap
		out = append(out, b)
	}
}

func floorMod(a, b int64) int64 {
	m := a % b
	if m < 0 {
		m += b
	}
	return m
}

// volumeGrouping is how a request aggregates streams.
type volumeGrouping struct {
	matchers []*labels.Matcher
	byLabels bool
	targets  bool            // TargetLabels were given
	all      bool            // keep every label of a stream
	keep     map[string]bool // otherwise the labels to keep
}

func newVolumeGrouping(r logproto.VolumeRequest) (*volumeGrouping, error) {
	g := &volumeGrouping{byLabels: r.AggregateBy == logproto.AggregateByLabels, keep: map[string]bool{}}
	if r.Query != matchAny {
		ms, err := syntax.ParseMatchers(r.Query, true)
		if err != nil {
			return nil, err
		}
		g.matchers = ms
	}
	if len(r.TargetLabels) > 0 {
		g.targets = true
		for _, t := range r.TargetLabels {
			g.keep[t] = true
		}
		for _, t := range r.TargetLabels {
			if !slices.ContainsFunc(g.matchers, func(m *labels.Matcher) bool { return m.Name == t }) {
				g.matchers = append(g.matchers, labels.MustNewMatcher(labels.MatchRegexp, t, ".+"))
			}
		}
		return g, nil
	}
	if len(g.matchers) == 0 {
		g.all = true
	}
	for _, m := range g.matchers {
		g.keep[m.Name] = true
	}
	return g, nil
}

// volumeAcc sums bytes per bucket and name.
type volumeAcc struct {
	buckets []map[string]*logproto.Volume
	b       labels.ScratchBuilder
}

func newVolumeAcc(n int) *volumeAcc {
	a := &volumeAcc{buckets: make([]map[string]*logproto.Volume, n)}
	for i := range a.buckets {
		a.buckets[i] = map[string]*logproto.Volume{}
	}
	return a
}

// add counts bytes of a stream with labels lbls in bucket i.
func (a *volumeAcc) add(i int, lbls labels.Labels, bytes uint64, g *volumeGrouping) {
	if bytes == 0 {
		return
	}
	m := a.buckets[i]
	if g.byLabels {
		lbls.Range(func(l labels.Label) {
			if g.targets && !g.keep[l.Name] {
				return
			}
			v := m[l.Name]
			if v == nil {
				v = &logproto.Volume{Name: l.Name, Labels: labels.FromStrings(l.Name, "")}
				m[l.Name] = v
			}
			v.Bytes += bytes
		})
		return
	}
	a.b.Reset()
	lbls.Range(func(l labels.Label) {
		if g.all || g.keep[l.Name] {
			a.b.Add(l.Name, l.Value)
		}
	})
	a.b.Sort()
	set := a.b.Labels()
	name := set.String()
	v := m[name]
	if v == nil {
		v = &logproto.Volume{Name: name, Labels: set}
		m[name] = v
	}
	v.Bytes += bytes
}

// result returns bucket i's volumes, largest first, at most limit.
func (a *volumeAcc) result(i int, limit int) []logproto.Volume {
	out := make([]logproto.Volume, 0, len(a.buckets[i]))
	for _, v := range a.buckets[i] {
		out = append(out, *v)
	}
	slices.SortFunc(out, func(x, y logproto.Volume) int {
		if c := cmp.Compare(y.Bytes, x.Bytes); c != 0 {
			return c
		}
		return cmp.Compare(x.Name, y.Name)
	})
	if limit > 0 && len(out) > limit {
		out = out[:limit]
	}
	return out
}
