package ingester

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/skald-logs/skald/pkg/index"
	"github.com/skald-logs/skald/pkg/logproto"
	"github.com/skald-logs/skald/pkg/validation"
)

// instance holds one tenant's streams.
type instance struct {
	tenant string
	ing    *Ingester

	mtx     sync.RWMutex
	streams map[string]*stream // by canonical label string

	tails tailRegistry // live tails (tail.go)
}

func newInstance(tenant string, ing *Ingester) *instance {
	return &instance{tenant: tenant, ing: ing, streams: map[string]*stream{}}
}

// push appends the streams of req. A stream that cannot be created (over
// the tenant's stream limit) is skipped and the others are appended, as in
// Loki; the answer is then the limit's error (429), naming every refusal.
func (inst *instance) push(req *logproto.PushRequest, now time.Time, wl *walWriter) error {
	var errs []string
	limited := false
	tails := inst.tails.load()
	for i := range req.Streams {
		s := &req.Streams[i]
		for {
			st, err := inst.getOrCreate(s.Labels, wl)
			if err != nil {
				limited = limited || errors.Is(err, validation.ErrRateLimited)
				errs = append(errs, err.Error())
				break
			}
			msg, ok := st.push(s.Entries, now, inst.ing, wl, tails)
			if !ok {
				continue // removed by a flush sweep meanwhile
			}
			if msg != "" {
				errs = append(errs, msg)
			}
			break
		}
		if wl.err != nil {
			return nil // Push reports it
		}
	}
	switch {
	case limited:
		return streamLimitError(strings.Join(errs, "\n"))
	case len(errs) > 0:
		return invalidError(strings.Join(errs, "\n"))
	}
	return nil
}

func (inst *instance) getOrCreate(key string, wl *walWriter) (*stream, error) {
	inst.mtx.RLock()
	st := inst.streams[key]
	inst.mtx.RUnlock()
	if st != nil {
		return st, nil
	}
	// The key may be part of the request's memory (decoded strings alias
	// the whole body): the stream must not keep that alive.
	key = strings.Clone(key)
	lbls, err := logproto.ParseLabels(key)
	if err != nil {
		return nil, invalidError(fmt.Sprintf("couldn't parse labels: %v", err))
	}
	if lbls.IsEmpty() {
		return nil, invalidError("error at least one label pair is required per stream")
	}
	inst.mtx.Lock()
	defer inst.mtx.Unlock()
	if st = inst.streams[key]; st != nil {
		return st, nil
	}
	if max := inst.ing.limits.For(inst.tenant).MaxGlobalStreamsPerUser; max > 0 && len(inst.streams) >= max {
		return nil, streamLimitError(streamLimitMsg(key, inst.tenant))
	}
	st = inst.addStream(key, lbls, inst.ing.nextRef.Add(1))
	// Logged under inst.mtx: a checkpoint that starts after this record
	// finds the stream in the map.
	wl.series(inst.tenant, st.ref, key)
	return st, nil
}

// addStream adds a new stream. inst.mtx must be held.
func (inst *instance) addStream(key string, lbls labels.Labels, ref uint64) *stream {
	st := &stream{lbls: lbls, key: key, fp: index.Fingerprint(lbls), ref: ref}
	inst.streams[key] = st
	inst.ing.m.streams.Inc()
	inst.ing.m.streamsCreated.Inc()
	return st
}

// snapshot returns the tenant's streams at this moment.
func (inst *instance) snapshot() []*stream {
	inst.mtx.RLock()
	defer inst.mtx.RUnlock()
	out := make([]*stream, 0, len(inst.streams))
	for _, st := range inst.streams {
		out = append(out, st)
	}
	return out
}

// removeIfEmpty drops a stream that holds no chunks any more.
func (inst *instance) removeIfEmpty(st *stream) {
	inst.mtx.Lock()
	defer inst.mtx.Unlock()
	st.mtx.Lock()
	defer st.mtx.Unlock()
	if len(st.chunks) == 0 && inst.streams[st.key] == st {
		st.dead = true
		delete(inst.streams, st.key)
		inst.ing.m.streams.Dec()
	}
}
