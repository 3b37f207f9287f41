package app

import (
	"math"
	"runtime"
	"runtime/debug"
	"testing"
	"time"
)

func TestMemoryLimitFlag(t *testing.T) {
	for _, tc := range []struct {
		in      string
		want    memoryLimit
		str     string
		wantErr bool
	}{
		{"auto", memoryLimitAuto, "auto", false},
		{" AUTO ", memoryLimitAuto, "auto", false},
		{"off", memoryLimitOff, "off", false},
		{"0", memoryLimitOff, "off", false},
		{"512MB", 512 << 20, "512MB", false},
		{"1.5GiB", 3 << 29, "1536MB", false},
		{"100000", 100000, "100000", false},
		{"-1", 0, "", true},
		{"lots", 0, "", true},
	} {
		var m memoryLimit
		err := m.Set(tc.in)
		if (err != nil) != tc.wantErr {
			t.Fatalf("Set(%q) error %v, want error: %v", tc.in, err, tc.wantErr)
		}
		if tc.wantErr {
			continue
		}
		if m != tc.want || m.String() != tc.str {
			t.Fatalf("Set(%q) = %d (%s), want %d (%s)", tc.in, m, m, tc.want, tc.str)
		}
		var back memoryLimit
		text, _ := m.MarshalText()
		if err := back.UnmarshalText(text); err != nil || back != m {
			t.Fatalf("%q does not read back: %d, %v", text, back, err)
		}
	}
}

func TestMemoryLimitFor(t *testing.T) {
	for _, tc := range []struct {
		name   string
		m      memoryLimit
		budget int64
		want   int64
	}{
		{"auto with an ingester", memoryLimitAuto, 16 << 20, 48 << 20},
		{"auto without an ingester", memoryLimitAuto, 0, 0},
		{"off", memoryLimitOff, 16 << 20, 0},
		{"a size", 1 << 30, 16 << 20, 1 << 30},
		{"a size without an ingester", 1 << 30, 0, 1 << 30},
	} {
		if got := memoryLimitFor(tc.m, tc.budget); got != tc.want {
			t.Errorf("%s: %d, want %d", tc.name, got, tc.want)
		}
	}
}

func TestTunedLimit(t *testing.T) {
	for _, tc := range []struct {
		base int64
		live uint64
		want int64
	}{
		{48 << 20, 10 << 20, 48 << 20},                               // the base binds
		{48 << 20, 40 << 20, 60<<20 + liveSlack},                     // raised above the live heap
		{48 << 20, 0, 48 << 20},                                      // nothing live
		{0, 1 << 20, 3<<19 + liveSlack},                              // no base
		{1 << 40, math.MaxUint64, (math.MaxInt64/4)*3/2 + liveSlack}, // no overflow
	} {
		if got := tunedLimit(tc.base, tc.live); got != tc.want {
			t.Errorf("tunedLimit(%d, %d) = %d, want %d", tc.base, tc.live, got, tc.want)
		}
		if got := tunedLimit(tc.base, tc.live); got < tc.base || got < int64(min(tc.live, math.MaxInt64/4)) {
			t.Errorf("tunedLimit(%d, %d) = %d is below the base or the live heap", tc.base, tc.live, got)
		}
	}
}

// Apps that run set the largest limit any of them wants (or more, if that
// much is live); when the last stops the runtime's limit is as it was. The
// limit follows the live heap after collections.
func TestSoftLimitAcquireRelease(t *testing.T) {
	prev := debug.SetMemoryLimit(-1)
	a, b := &App{}, &App{}
	const la, lb = 1 << 40, 2 << 40 // far above anything live
	softLimit.acquire(a, la)
	if got := debug.SetMemoryLimit(-1); got != la {
		t.Fatalf("limit %d with one app, want %d", got, la)
	}
	softLimit.acquire(b, lb)
	if got := debug.SetMemoryLimit(-1); got != lb {
		t.Fatalf("limit %d with two apps, want the larger %d", got, lb)
	}
	softLimit.release(b)
	if got := debug.SetMemoryLimit(-1); got != la {
		t.Fatalf("limit %d after one app stopped, want %d", got, la)
	}
	softLimit.release(b) // twice: no effect
	if got := debug.SetMemoryLimit(-1); got != la {
		t.Fatalf("limit %d after a second release, want %d", got, la)
	}

	// A limit below the live heap is raised after a collection.
	const tiny = 1 << 10
	softLimit.release(a)
	softLimit.acquire(a, tiny)
	keep := make([]byte, 64<<20)
	// The hook runs on the finalizer goroutine after a collection.
	for i := 0; debug.SetMemoryLimit(-1) < int64(len(keep)); i++ {
		if i == 1000 {
			t.Fatalf("limit %d still below the live heap (at least %d) after %d collections", debug.SetMemoryLimit(-1), len(keep), i)
		}
		runtime.GC()
		time.Sleep(time.Millisecond)
	}
	runtime.KeepAlive(keep)
	softLimit.release(a)
	if got := debug.SetMemoryLimit(-1); got != prev {
		t.Fatalf("limit %d after every app stopped, want the original %d", got, prev)
	}
}
