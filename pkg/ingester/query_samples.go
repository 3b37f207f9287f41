package ingester

import (
	"context"

	"github.com/skald-logs/skald/pkg/chunk"
	"github.com/skald-logs/skald/pkg/iter"
	"github.com/skald-logs/skald/pkg/logproto"
	"github.com/skald-logs/skald/pkg/logql"
	"github.com/skald-logs/skald/pkg/logql/log"
)

// SelectSamples returns the samples p.Extractor extracts from the tenant's
// in-memory entries that match p, oldest first, kept per stream (an
// iter.SampleSet with a part per chunk). Like SelectLogs it reads
// consistent snapshots of the chunks, so pushes go on while the iterator
// is consumed; lines are read in place and never copied.
func (i *Ingester) SelectSamples(ctx context.Context, tenant string, p logql.SelectSampleParams) (iter.SampleIterator, error) {
	inst := i.instance(tenant, false)
	if inst == nil {
		return iter.NewSampleSet(nil), nil
	}
	var parts []iter.StreamSamples
	o := chunk.IterOptions{From: p.Start, Through: p.End, Direction: logproto.Forward, Contains: p.LineLiterals()}
	if p.Stats != nil {
		// Lines the push-down skipped were still processed.
		o.SkippedLines, o.SkippedBytes = &p.Stats.Lines, &p.Stats.Bytes
	}
	for _, st := range inst.snapshot() {
		if !matches(st.lbls, p.Matchers) {
			continue
		}
		// One extractor per stream: its chunks' iterators are consumed
		// in turn by one goroutine, and they share its series cache.
		var sx log.StreamSampleExtractor
		st.mtx.Lock()
		for _, cd := range st.chunks {
			if cd.c.Len() == 0 {
				continue
			}
			from, through := cd.c.Bounds()
			if through < p.Start || from >= p.End {
				continue
			}
			if sx == nil {
				sx = p.Extractor.ForStream(st.lbls)
			}
			raw := cd.c.Iterate(o)
			parts = append(parts, iter.StreamSamples{Labels: st.lbls, Fingerprint: st.fp, It: log.NewStreamSampleIterator(raw, sx, st.fp, p.Stats)})
		}
		st.mtx.Unlock()
	}
	if err := ctx.Err(); err != nil {
		for _, p := range parts {
			_ = p.It.Close()
		}
		return nil, err
	}
	return iter.NewSampleSet(parts), nil
}
