package ring

import (
	"context"
	"errors"
	"sync"
)

// IngesterRingKey is the KV key of the ingesters' ring (Loki's "ring").
const IngesterRingKey = "ring"

// ErrKVStopped is returned by a KV that was stopped.
var ErrKVStopped = errors.New("ring kv store stopped")

// KV stores ring descriptors by key, for many processes at once.
//
// Values are merged, never overwritten: CAS merges the Desc its function
// returns into the stored one (Desc.Merge), so concurrent updates from
// different processes all survive and every replica of the store converges
// to the same Desc. An update that the stored value already dominates (an
// older heartbeat) is a no-op.
//
// All methods are safe for concurrent use. The Desc values they hand out are
// copies the caller owns.
type KV interface {
	// Get returns the current Desc of key, empty when there is none.
	Get(ctx context.Context, key string) (*Desc, error)
	// CAS calls f with a copy of the current Desc of key (empty when there is
	// none) and merges what f returns into the store. f returns nil to change
	// nothing, or an error, which CAS returns. f may be called more than once
	// and must not call the KV.
	CAS(ctx context.Context, key string, f func(in *Desc) (out *Desc, err error)) error
	// Watch calls f with the current Desc of key and then after changes, until
	// f returns false or ctx ends. Changes that happen while f runs are
	// coalesced: f sees the latest Desc, not every intermediate one.
	Watch(ctx context.Context, key string, f func(*Desc) bool)
}

// MemoryKV is a KV held in this process's memory: the store of a single
// process (-ring.store=inmemory) and of tests. The zero value is not usable;
// call NewMemoryKV.
type MemoryKV struct {
	mu       sync.Mutex
	values   map[string]*Desc
	watchers map[string]map[chan struct{}]struct{}
}

// NewMemoryKV returns an empty in-memory store.
func NewMemoryKV() *MemoryKV {
	return &MemoryKV{values: map[string]*Desc{}, watchers: map[string]map[chan struct{}]struct{}{}}
}

// Get implements KV.
func (m *MemoryKV) Get(ctx context.Context, key string) (*Desc, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.getLocked(key), nil
}

func (m *MemoryKV) getLocked(key string) *Desc {
	if d, ok := m.values[key]; ok {
		return d.Clone()
	}
	return NewDesc()
}

// CAS implements KV.
func (m *MemoryKV) CAS(ctx context.Context, key string, f func(in *Desc) (out *Desc, err error)) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	m.mu.Lock()
	in := m.getLocked(key)
	m.mu.Unlock()

	out, err := f(in)
	if err != nil || out == nil {
		return err
	}
	m.Merge(key, out)
	return nil
}

// Merge merges d into the value of key, as a message from another process
// would, and reports whether the value changed.
func (m *MemoryKV) Merge(key string, d *Desc) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	cur, ok := m.values[key]
	if !ok {
		cur = NewDesc()
		m.values[key] = cur
	}
	if !cur.Merge(d) {
		return false
	}
	for ch := range m.watchers[key] {
		select {
		case ch <- struct{}{}:
		default:
		}
	}
	return true
}

// Watch implements KV.
func (m *MemoryKV) Watch(ctx context.Context, key string, f func(*Desc) bool) {
	ch := make(chan struct{}, 1)
	m.mu.Lock()
	if m.watchers[key] == nil {
		m.watchers[key] = map[chan struct{}]struct{}{}
	}
	m.watchers[key][ch] = struct{}{}
	m.mu.Unlock()
	defer func() {
		m.mu.Lock()
		delete(m.watchers[key], ch)
		m.mu.Unlock()
	}()

	for ctx.Err() == nil {
		m.mu.Lock()
		d := m.getLocked(key)
		m.mu.Unlock()
		if !f(d) {
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-ch:
		}
	}
}
