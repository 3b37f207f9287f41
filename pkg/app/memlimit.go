package app

import (
	"fmt"
	"math"
	"os"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"strings"
	"sync"

	"github.com/skald-logs/skald/pkg/ingester"
)

// The Go runtime's soft memory limit (-server.memory-limit).
//
// With the default GOGC=100 the heap grows to twice what was live after the
// last collection before the next one starts, so garbage doubles the
// memory a process takes. A soft limit makes the collector run earlier when
// the heap approaches it. Skald's limit is derived from the ingester's
// memory budget, which bounds the bulk of what an ingester holds.
//
// A soft limit below what is really live (a full chunk cache, a large
// query) would make the collector run without pause. So after every
// collection the limit is raised, if need be, to 1.5 times the live heap
// plus liveSlack: the collector then runs at most about twice as often as
// with GOGC=100, and only while that is above the configured limit.

// memoryLimit is -server.memory-limit: auto, off, or a size.
type memoryLimit int64

const (
	memoryLimitAuto memoryLimit = -1
	memoryLimitOff  memoryLimit = 0

	// The auto limit: twice the ingester's memory budget, plus a reserve
	// for everything else (push decoding, the WAL's buffers, index
	// objects, runtime overhead).
	autoLimitReserve = 16 << 20
	// liveSlack is added to 1.5 times the live heap for the lowest limit:
	// room for the runtime's own memory besides the heap.
	liveSlack = 4 << 20
)

// Set parses auto, off (or 0), or a size such as 512MB.
func (m *memoryLimit) Set(s string) error {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "auto":
		*m = memoryLimitAuto
		return nil
	case "off", "0":
		*m = memoryLimitOff
		return nil
	}
	var b ingester.ByteSize
	if err := b.Set(s); err != nil {
		return fmt.Errorf("invalid memory limit %q: want auto, off or a size such as 512MB", s)
	}
	*m = memoryLimit(b)
	return nil
}

func (m memoryLimit) String() string {
	switch m {
	case memoryLimitAuto:
		return "auto"
	case memoryLimitOff:
		return "off"
	}
	return ingester.ByteSize(m).String()
}

// UnmarshalText reads the YAML form.
func (m *memoryLimit) UnmarshalText(text []byte) error { return m.Set(string(text)) }

// MarshalText writes the YAML form.
func (m memoryLimit) MarshalText() ([]byte, error) { return []byte(m.String()), nil }

// memoryLimitFor resolves the configured limit: 0 for none. budget is the
// ingester's memory budget, 0 if the process runs no ingester.
func memoryLimitFor(m memoryLimit, budget int64) int64 {
	switch {
	case m == memoryLimitAuto && budget > 0:
		return 2*budget + autoLimitReserve
	case m > 0:
		return int64(m)
	}
	return 0
}

// applyMemoryLimit sets the runtime's soft memory limit for a's lifetime and
// returns the function that gives it back. The GOMEMLIMIT environment
// variable, if set, wins.
func (a *App) applyMemoryLimit() func() {
	var budget int64
	if a.ingester != nil {
		budget = a.ingester.MemoryBudget()
	}
	limit := memoryLimitFor(a.cfg.Server.MemoryLimit, budget)
	if limit == 0 {
		return func() {}
	}
	if env := os.Getenv("GOMEMLIMIT"); env != "" {
		a.logger.Info("GOMEMLIMIT is set; -server.memory-limit is not applied", "GOMEMLIMIT", env)
		return func() {}
	}
	a.logger.Debug("go runtime soft memory limit", "limit", ingester.ByteSize(limit).String())
	softLimit.acquire(a, limit)
	return func() { softLimit.release(a) }
}

// softLimit is the process's soft memory limit while Apps run (tests run
// several in one process: the largest limit asked for applies).
var softLimit = &limitTuner{want: map[*App]int64{}}

type limitTuner struct {
	mu   sync.Mutex
	want map[*App]int64
	base int64 // the largest limit wanted
	prev int64 // the limit before the first App set one
	gen  int   // of the current after-GC hook chain
}

func (t *limitTuner) acquire(a *App, limit int64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.want) == 0 {
		t.prev = debug.SetMemoryLimit(-1)
		t.gen++
		armAfterGC(t, t.gen)
	}
	t.want[a] = limit
	t.update()
}

func (t *limitTuner) release(a *App) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if _, ok := t.want[a]; !ok {
		return
	}
	delete(t.want, a)
	if len(t.want) == 0 {
		t.gen++ // ends the hook chain
		debug.SetMemoryLimit(t.prev)
		return
	}
	t.update()
}

// update sets the limit: the largest wanted, raised to 1.5 times the live
// heap plus liveSlack. t.mu must be held.
func (t *limitTuner) update() {
	t.base = 0
	for _, l := range t.want {
		t.base = max(t.base, l)
	}
	debug.SetMemoryLimit(tunedLimit(t.base, liveHeap()))
}

// tunedLimit is the limit for a configured base and the live heap.
func tunedLimit(base int64, live uint64) int64 {
	floor := int64(min(live, math.MaxInt64/4))*3/2 + liveSlack
	return max(base, floor)
}

// afterGC runs after each collection while the chain gen is current.
func (t *limitTuner) afterGC(gen int) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if gen != t.gen {
		return false
	}
	t.update()
	return true
}

// gcSentinel is garbage as soon as it is made; its finalizer runs after
// the next collection.
type gcSentinel struct {
	gen int
	_   *int // a pointer keeps it out of the tiny allocator
}

func armAfterGC(t *limitTuner, gen int) {
	s := &gcSentinel{gen: gen}
	runtime.SetFinalizer(s, func(s *gcSentinel) {
		if t.afterGC(s.gen) {
			armAfterGC(t, s.gen)
		}
	})
}

var liveSample = []metrics.Sample{{Name: "/gc/heap/live:bytes"}}

// liveHeap returns the bytes marked live by the last collection.
func liveHeap() uint64 {
	metrics.Read(liveSample)
	if liveSample[0].Value.Kind() != metrics.KindUint64 {
		return 0
	}
	return liveSample[0].Value.Uint64()
}
