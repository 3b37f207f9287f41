package chunk

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/skald-logs/skald/pkg/logproto"
)

var level = func(v string) []logproto.LabelAdapter {
	return []logproto.LabelAdapter{{Name: "detected_level", Value: v}}
}

// synthetic returns n entries with timestamps in [0, span) from r, lines
// of varied length and a few metadata shapes.
func synthetic(r *rand.Rand, n int, span int64) []entry {
	levels := []string{"info", "warn", "error", "debug"}
	out := make([]entry, n)
	for i := range out {
		e := entry{TS: r.Int64N(span), Line: fmt.Sprintf("line %d %s", i, bytes.Repeat([]byte{'x'}, r.IntN(200)))}
		switch r.IntN(4) {
		case 0:
		case 1, 2:
			e.SM = level(levels[r.IntN(len(levels))])
		case 3:
			e.SM = []logproto.LabelAdapter{{Name: "detected_level", Value: "info"}, {Name: "trace_id", Value: fmt.Sprintf("%016x", r.Uint64())}}
		}
		out[i] = e
	}
	return out
}

type appendCase struct {
	name    string
	cfg     Config
	entries []entry
}

func appendCases(t *testing.T) []appendCase {
	r := rand.New(rand.NewPCG(1, 2))
	ssh := sshEntries(t, 1_700_000_000_000_000_000)[:1200]
	reversed := slices.Clone(ssh)
	slices.Reverse(reversed)
	shuffled := slices.Clone(ssh)
	r.Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
	apache := apacheEntries(t)[:1500]

	// A batch re-sent after it was cut into blocks, and near-duplicates.
	resent := synthetic(r, 300, 1000)
	resent = append(resent, resent[100:250]...)
	resent = append(resent,
		entry{TS: resent[5].TS, Line: resent[5].Line + "!", SM: resent[5].SM}, // other line
		entry{TS: resent[6].TS, Line: resent[6].Line, SM: level("fatal")},     // other metadata
		entry{TS: resent[7].TS + 1, Line: resent[7].Line, SM: resent[7].SM},   // other time
		entry{TS: resent[8].TS, Line: resent[8].Line, SM: append(resent[8].SM, logproto.LabelAdapter{Name: "a", Value: "b"})},
		resent[9], resent[0], resent[299],
	)

	ties := make([]entry, 400)
	for i := range ties {
		ties[i] = entry{TS: int64(r.IntN(5)), Line: fmt.Sprintf("tie %d", i%150), SM: level([]string{"info", "warn"}[i%2])}
	}

	extremes := []entry{
		{TS: math.MaxInt64, Line: "max"}, {TS: math.MinInt64, Line: "min"}, {TS: 0, Line: ""},
		{TS: -1, Line: "minus one", SM: level("info")}, {TS: math.MaxInt64 - 1, Line: "max-1"},
		{TS: math.MinInt64 + 1, Line: "min+1"}, {TS: 0, Line: ""}, {TS: 0, Line: "", SM: level("")},
		{TS: 1, Line: "\x00\xff invalid utf-8 \xc3", SM: []logproto.LabelAdapter{{Name: "", Value: ""}}},
	}

	small := Config{BlockSize: 4 << 10}
	return []appendCase{
		{"ordered", small, ssh},
		{"reversed", small, reversed},
		{"shuffled", small, shuffled},
		{"apache arrival order", small, apache},
		{"apache one block", Config{}, apache[:300]},
		{"duplicates and resend", Config{BlockSize: 1 << 10}, resent},
		{"equal timestamps", Config{BlockSize: 512}, ties},
		{"extreme timestamps", Config{BlockSize: 64}, extremes},
		{"one entry per block", Config{BlockSize: 1}, synthetic(r, 50, 20)},
		{"empty", small, nil},
	}
}

// ranges returns query ranges that probe the boundaries of sorted.
func ranges(sorted []entry, r *rand.Rand) [][2]int64 {
	out := [][2]int64{{math.MinInt64, math.MaxInt64}, {0, 0}, {5, 4}}
	if len(sorted) == 0 {
		return out
	}
	lo, hi := sorted[0].TS, sorted[len(sorted)-1].TS
	out = append(out, [2]int64{lo, hi}, [2]int64{lo, lo}, [2]int64{hi, hi})
	if hi < math.MaxInt64 {
		out = append(out, [2]int64{lo, hi + 1}, [2]int64{hi, hi + 1})
	}
	for range 12 {
		a, b := sorted[r.IntN(len(sorted))].TS, sorted[r.IntN(len(sorted))].TS
		out = append(out, [2]int64{min(a, b), max(a, b)})
		if a < math.MaxInt64 {
			out = append(out, [2]int64{a, a + 1})
		}
	}
	return out
}

// iterable is what MemChunk and Chunk have in common.
type iterable interface {
	Iterator(from, through int64, dir logproto.Direction) EntryIterator
	Len() int
	Size() int
	Bounds() (int64, int64)
}

func checkContents(t *testing.T, what string, c iterable, want []entry, r *rand.Rand) {
	t.Helper()
	if c.Len() != len(want) {
		t.Errorf("%s: Len() = %d, want %d", what, c.Len(), len(want))
	}
	size := 0
	for _, e := range want {
		size += len(e.Line)
	}
	if c.Size() != size {
		t.Errorf("%s: Size() = %d, want %d", what, c.Size(), size)
	}
	var from, through int64
	if len(want) > 0 {
		from, through = want[0].TS, want[len(want)-1].TS
	}
	if f, th := c.Bounds(); f != from || th != through {
		t.Errorf("%s: Bounds() = %d, %d, want %d, %d", what, f, th, from, through)
	}
	for _, rg := range ranges(want, r) {
		for _, dir := range []logproto.Direction{logproto.Forward, logproto.Backward} {
			got, err := drain(c.Iterator(rg[0], rg[1], dir))
			if err != nil {
				t.Fatalf("%s [%d, %d) %v: %v", what, rg[0], rg[1], dir, err)
			}
			if d := diffEntries(got, window(want, rg[0], rg[1], dir)); d != "" {
				t.Fatalf("%s [%d, %d) %v: %s", what, rg[0], rg[1], dir, d)
			}
		}
	}
}

func TestAppendIterateEncode(t *testing.T) {
	for _, tc := range appendCases(t) {
		for _, enc := range []Encoding{EncodingSnappy, EncodingS2, EncodingZstd} {
			t.Run(fmt.Sprintf("%s/%v", tc.name, enc), func(t *testing.T) {
				r := rand.New(rand.NewPCG(3, 4))
				cfg := tc.cfg
				cfg.Encoding = enc
				c := NewMemChunk(cfg)
				gotDups := appendAll(t, c, tc.entries)
				want, wantDups := model(tc.entries)
				if !slices.Equal(gotDups, wantDups) {
					for i := range gotDups {
						if gotDups[i] != wantDups[i] {
							t.Fatalf("entry %d (%v): dup = %v, want %v", i, tc.entries[i], gotDups[i], wantDups[i])
						}
					}
				}
				checkContents(t, "memchunk", c, want, r)

				b, err := c.Encode()
				if err != nil {
					t.Fatal(err)
				}
				d, err := Decode(b)
				if err != nil {
					t.Fatal(err)
				}
				if d.Encoding() != enc {
					t.Errorf("Encoding() = %v, want %v", d.Encoding(), enc)
				}
				checkContents(t, "decoded", d, want, r)

				// The encoded form is a function of the entries: encoding
				// them again in sorted order gives the same bytes.
				again := NewMemChunk(cfg)
				appendAll(t, again, want)
				b2, err := again.Encode()
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(b, b2) {
					t.Errorf("re-encoding the sorted entries gives other bytes (%d vs %d)", len(b), len(b2))
				}
				// Encode does not change the chunk.
				b3, err := c.Encode()
				if err != nil || !bytes.Equal(b, b3) {
					t.Errorf("second Encode differs (err %v)", err)
				}
				checkContents(t, "memchunk after encode", c, want, r)
			})
		}
	}
}

func TestEncodeDeterministic(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	sets := map[string][]entry{
		"ssh":    sshEntries(t, 0)[:1500],
		"apache": apacheEntries(t)[:1500],
		"ties":   synthetic(r, 800, 40),
	}
	for name, in := range sets {
		t.Run(name, func(t *testing.T) {
			cfg := Config{BlockSize: 8 << 10}
			var first []byte
			orders := [][]entry{in}
			for range 4 {
				orders = append(orders, shuffleKeepTies(in, r))
			}
			// With duplicates re-sent in the middle and at the end.
			withDups := slices.Clone(orders[1])
			withDups = slices.Insert(withDups, len(withDups)/2, in[:200]...)
			withDups = append(withDups, in[len(in)-300:]...)
			orders = append(orders, withDups)
			for i, order := range orders {
				c := NewMemChunk(cfg)
				appendAll(t, c, order)
				b, err := c.Encode()
				if err != nil {
					t.Fatal(err)
				}
				if i == 0 {
					first = b
					continue
				}
				if !bytes.Equal(b, first) {
					t.Fatalf("order %d: %d bytes differ from the first order's %d", i, len(b), len(first))
				}
			}
		})
	}
}

func TestEncodeKeepsOrderedBlocks(t *testing.T) {
	in := sshEntries(t, 0)[:1500]
	tests := []struct {
		name  string
		late  *entry // appended after in
		keep  func(blocks int) int
		check bool
	}{
		{"in order", nil, func(n int) int { return n }, true},
		{"late entry in the first block", &entry{TS: in[3].TS + 1, Line: "late"}, func(int) int { return 0 }, true},
		{"late entry after the last block", &entry{TS: in[len(in)-1].TS + 1, Line: "late"}, func(n int) int { return n }, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := NewMemChunk(Config{BlockSize: 8 << 10})
			appendAll(t, c, in)
			if tc.late != nil {
				appendAll(t, c, []entry{*tc.late})
			}
			if got, want := c.keepBlocks(), tc.keep(c.Blocks()); got != want {
				t.Errorf("keepBlocks() = %d, want %d of %d", got, want, c.Blocks())
			}
		})
	}
}

func TestDuplicatesAcrossCuts(t *testing.T) {
	c := NewMemChunk(Config{BlockSize: 2 << 10})
	in := sshEntries(t, 0)[:500]
	appendAll(t, c, in)
	if c.Blocks() < 10 {
		t.Fatalf("only %d blocks were cut", c.Blocks())
	}
	n := c.Len()
	// Every entry again, in reverse order: all duplicates.
	for i := len(in) - 1; i >= 0; i-- {
		dup, err := c.Append(in[i].TS, in[i].Line, in[i].SM)
		if err != nil || !dup {
			t.Fatalf("re-append %d: dup=%v err=%v", i, dup, err)
		}
	}
	if c.Len() != n {
		t.Fatalf("Len() = %d after duplicates, want %d", c.Len(), n)
	}
	// Same timestamp and line but other metadata, or other line: kept.
	for i, e := range []entry{{in[10].TS, in[10].Line, level("x")}, {in[10].TS, in[10].Line + " ", in[10].SM}} {
		if dup, err := c.Append(e.TS, e.Line, e.SM); err != nil || dup {
			t.Fatalf("near-duplicate %d: dup=%v err=%v", i, dup, err)
		}
	}
}

func TestIteratorIsSnapshot(t *testing.T) {
	in := apacheEntries(t)
	c := NewMemChunk(Config{BlockSize: 4 << 10})
	appendAll(t, c, in[:700])
	want, _ := model(in[:700])
	fwd := c.Iterator(math.MinInt64, math.MaxInt64, logproto.Forward)
	bwd := c.Iterator(math.MinInt64, math.MaxInt64, logproto.Backward)

	done := make(chan error)
	go func() {
		// Iterate while the chunk keeps changing under the caller's lock.
		got, err := drain(fwd)
		if err == nil {
			if d := diffEntries(got, want); d != "" {
				err = fmt.Errorf("forward: %s", d)
			}
		}
		done <- err
	}()
	appendAll(t, c, in[700:]) // cuts blocks, reuses or replaces the head
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	got, err := drain(bwd)
	if err != nil {
		t.Fatal(err)
	}
	slices.Reverse(want)
	if d := diffEntries(got, want); d != "" {
		t.Fatalf("backward: %s", d)
	}
}

func TestSizes(t *testing.T) {
	in := sshEntries(t, 0)
	cfg := Config{BlockSize: 16 << 10, TargetSize: 32 << 10}
	c := NewMemChunk(cfg)
	if !c.SpaceFor(1 << 20) {
		t.Error("an empty chunk must have space")
	}
	i := 0
	for ; i < len(in) && c.SpaceFor(len(in[i].Line)); i++ {
		appendAll(t, c, in[i:i+1])
	}
	if i == len(in) {
		t.Fatal("chunk never filled up")
	}
	if !c.IsFull() && c.SpaceFor(len(in[i].Line)) {
		t.Error("no space but not full either")
	}
	b, err := c.Encode()
	if err != nil {
		t.Fatal(err)
	}
	// The estimate is within 10% of the truth and the chunk near its target.
	if est := c.CompressedSize(); math.Abs(float64(est-len(b))) > 0.1*float64(len(b)) {
		t.Errorf("CompressedSize() = %d, encoded %d bytes", est, len(b))
	}
	if len(b) > cfg.TargetSize*11/10 || len(b) < cfg.TargetSize*8/10 {
		t.Errorf("encoded %d bytes for a target of %d", len(b), cfg.TargetSize)
	}
}

func TestAppendErrors(t *testing.T) {
	c := NewMemChunk(Config{})
	if _, err := c.Append(1, string(make([]byte, MaxEntrySize)), nil); !errors.Is(err, ErrEntryTooLarge) {
		t.Errorf("huge line: err = %v, want ErrEntryTooLarge", err)
	}
	if _, err := c.Append(1, "x", []logproto.LabelAdapter{{Name: "n", Value: string(make([]byte, MaxEntrySize))}}); !errors.Is(err, ErrEntryTooLarge) {
		t.Errorf("huge metadata: err = %v, want ErrEntryTooLarge", err)
	}
	if c.Len() != 0 {
		t.Errorf("Len() = %d after refused appends", c.Len())
	}
	bad := NewMemChunk(Config{Encoding: 99})
	if _, err := bad.Append(1, "x", nil); !errors.Is(err, ErrInvalidConfig) {
		t.Errorf("unknown encoding: Append err = %v", err)
	}
	if _, err := bad.Encode(); !errors.Is(err, ErrInvalidConfig) {
		t.Errorf("unknown encoding: Encode err = %v", err)
	}
}

func TestConfig(t *testing.T) {
	tests := []struct {
		cfg Config
		ok  bool
	}{
		{Config{}, true},
		{DefaultConfig(), true},
		{Config{BlockSize: -1}, false},
		{Config{BlockSize: MaxBlockSize + 1}, false},
		{Config{TargetSize: -1}, false},
		{Config{Encoding: EncodingZstd}, true},
		{Config{Encoding: 4}, false},
	}
	for _, tc := range tests {
		if err := tc.cfg.Validate(); (err == nil) != tc.ok || (err != nil && !errors.Is(err, ErrInvalidConfig)) {
			t.Errorf("%+v: Validate() = %v", tc.cfg, err)
		}
	}
	for _, e := range []Encoding{EncodingSnappy, EncodingS2, EncodingZstd} {
		text, _ := e.MarshalText()
		var back Encoding
		if err := back.UnmarshalText(bytes.ToUpper(text)); err != nil || back != e {
			t.Errorf("%v: round trip through %q gave %v, %v", e, text, back, err)
		}
	}
	if _, err := ParseEncoding("gzip"); !errors.Is(err, ErrInvalidConfig) {
		t.Errorf("ParseEncoding(gzip) = %v", err)
	}
}

func TestIterateAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are off under the race detector")
	}
	c := NewMemChunk(Config{BlockSize: 16 << 10})
	appendAll(t, c, sshEntries(t, 0))
	b, err := c.Encode()
	if err != nil {
		t.Fatal(err)
	}
	d, err := Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	for _, dir := range []logproto.Direction{logproto.Forward, logproto.Backward} {
		n := 0
		allocs := testing.AllocsPerRun(5, func() {
			it := d.Iterator(math.MinInt64, math.MaxInt64, dir)
			for it.Next() {
				n++
			}
			it.Close()
		})
		// The iterator and one string of symbols per block (buffers come
		// from a pool); nothing per entry.
		if limit := float64(d.Blocks() + 4); allocs > limit {
			t.Errorf("%v: %.0f allocations to iterate %d entries in %d blocks, want at most %.0f", dir, allocs, d.Len(), d.Blocks(), limit)
		}
	}
}
