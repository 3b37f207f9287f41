package chunk

import (
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/skald-logs/skald/pkg/logproto"
)

func FuzzDecode(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "golden", "*.chunk"))
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	ssh := sshEntries(f, 0)[:20]
	for _, enc := range []Encoding{EncodingSnappy, EncodingS2, EncodingZstd} {
		f.Add(encodeEntries(f, Config{BlockSize: 200, Encoding: enc}, ssh))
	}
	f.Add(encodeEntries(f, Config{}, nil))
	f.Add([]byte("\xd5SKC\x01\x01\x00\x00\x00\x00\x00\x02\x00\x00\x00\x00"))

	f.Fuzz(func(t *testing.T, b []byte) {
		for _, verify := range []bool{true, false} {
			c, err := decode(b, verify, verify)
			if err != nil {
				if !errors.Is(err, ErrCorrupt) {
					t.Fatalf("verify=%v: Decode error %v does not wrap ErrCorrupt", verify, err)
				}
				continue
			}
			fwd, ferr := drain(c.Iterator(math.MinInt64, math.MaxInt64, logproto.Forward))
			bwd, berr := drain(c.Iterator(math.MinInt64, math.MaxInt64, logproto.Backward))
			for _, err := range []error{ferr, berr} {
				if err != nil && !errors.Is(err, ErrCorrupt) {
					t.Fatalf("verify=%v: iterator error %v does not wrap ErrCorrupt", verify, err)
				}
			}
			if (ferr == nil) != (berr == nil) {
				// Both directions parse the same records of the same blocks.
				t.Fatalf("verify=%v: forward error %v, backward error %v", verify, ferr, berr)
			}
			if ferr != nil {
				continue
			}
			checkAccepted(t, c, fwd, bwd)
			// The push-down keeps exactly the lines with the literal, and
			// never fails where a full iteration did not.
			lit := "a"
			if len(fwd) > 0 && len(fwd[0].Line) > 2 {
				lit = fwd[0].Line[1:3]
			}
			got, err := drain(c.Iterate(IterOptions{From: math.MinInt64, Through: math.MaxInt64, Direction: logproto.Forward, Contains: []string{lit}}))
			if err != nil {
				t.Fatalf("verify=%v: push-down of %q: %v", verify, lit, err)
			}
			var keep []entry
			for _, e := range fwd {
				if strings.Contains(e.Line, lit) {
					keep = append(keep, e)
				}
			}
			if d := diffEntries(got, keep); d != "" {
				t.Fatalf("verify=%v: push-down of %q: %s", verify, lit, d)
			}
		}
	})
}

// checkAccepted checks a chunk that decodes and iterates without error:
// its iterators agree with each other and with its index, and its entries
// survive a round trip through MemChunk.
func checkAccepted(t *testing.T, c *Chunk, fwd, bwd []entry) {
	t.Helper()
	rev := slices.Clone(bwd)
	slices.Reverse(rev)
	if d := diffEntries(fwd, rev); d != "" {
		t.Fatalf("backward is not the reverse of forward: %s", d)
	}
	if !slices.IsSortedFunc(fwd, func(a, b entry) int { return compareTS(a.TS, b.TS) }) {
		t.Fatal("forward entries are not sorted")
	}
	mint, maxt := c.Bounds()
	if maxt < math.MaxInt64 { // an entry at MaxInt64 is outside every range
		if len(fwd) != c.Len() {
			t.Fatalf("iterated %d entries, Len() = %d", len(fwd), c.Len())
		}
		if len(fwd) > 0 && (fwd[0].TS != mint || fwd[len(fwd)-1].TS != maxt) {
			t.Fatalf("entries span [%d, %d], Bounds() = %d, %d", fwd[0].TS, fwd[len(fwd)-1].TS, mint, maxt)
		}
	}
	want, _ := model(fwd)
	m := NewMemChunk(Config{BlockSize: 1 << 10, Encoding: c.Encoding()})
	appendAll(t, m, fwd)
	b, err := m.Encode()
	if err != nil {
		t.Fatal(err)
	}
	again, err := Decode(b)
	if err != nil {
		t.Fatalf("re-encoded chunk does not decode: %v", err)
	}
	got, err := drain(again.Iterator(math.MinInt64, math.MaxInt64, logproto.Forward))
	if err != nil {
		t.Fatal(err)
	}
	if d := diffEntries(got, want); d != "" {
		t.Fatalf("round trip: %s", d)
	}
}

func compareTS(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// fuzzEntries turns fuzz bytes into an arrival sequence with frequent
// equal timestamps, duplicates and shared metadata.
func fuzzEntries(data []byte) []entry {
	var out []entry
	var ts int64
	for len(data) >= 3 && len(out) < 300 {
		op, delta, n := data[0], int8(data[1]), int(data[2]%64)
		data = data[3:]
		n = min(n, len(data))
		line := string(data[:n])
		data = data[n:]
		switch op % 8 {
		case 0: // repeat an earlier entry
			if len(out) > 0 {
				out = append(out, out[int(delta)&0x7f%len(out)])
				continue
			}
		case 1: // a far timestamp
			ts = int64(delta) << 56
		default:
			ts += int64(delta)
		}
		e := entry{TS: ts, Line: line}
		switch op / 8 % 4 {
		case 1:
			e.SM = level([]string{"info", "warn", "error"}[int(op)%3])
		case 2:
			e.SM = []logproto.LabelAdapter{{Name: "detected_level", Value: "info"}, {Name: "id", Value: fmt.Sprint(delta)}}
		}
		out = append(out, e)
	}
	return out
}

func FuzzAppendRoundTrip(f *testing.F) {
	f.Add([]byte("\x02\x05\x03abc\x02\xfb\x03abd\x00\x00\x00\x0a\x00\x01x"), uint16(16), uint8(0))
	f.Add([]byte("\x12\x01\x05hello\x22\x00\x05world\x02\xff\x00\x00\x02\x00\x01\x09\x00\x05hello"), uint16(1), uint8(1))
	f.Add([]byte("\x01\x7f\x01a\x01\x80\x01b\x02\x00\x01c\x00\x01\x00"), uint16(100), uint8(2))

	f.Fuzz(func(t *testing.T, data []byte, blockSize uint16, enc uint8) {
		in := fuzzEntries(data)
		cfg := Config{BlockSize: 1 + int(blockSize%2048), Encoding: Encoding(1 + enc%3)}
		c := NewMemChunk(cfg)
		dups := appendAll(t, c, in)
		want, wantDups := model(in)
		if !slices.Equal(dups, wantDups) {
			t.Fatalf("dup flags %v, want %v", dups, wantDups)
		}
		b, err := c.Encode()
		if err != nil {
			t.Fatal(err)
		}
		d, err := Decode(b)
		if err != nil {
			t.Fatal(err)
		}
		for _, it := range []iterable{c, d} {
			for _, dir := range []logproto.Direction{logproto.Forward, logproto.Backward} {
				got, err := drain(it.Iterator(math.MinInt64, math.MaxInt64, dir))
				if err != nil {
					t.Fatal(err)
				}
				if diff := diffEntries(got, window(want, math.MinInt64, math.MaxInt64, dir)); diff != "" {
					t.Fatalf("%T %v: %s", it, dir, diff)
				}
			}
			if len(want) > 0 {
				from := want[len(want)/3].TS
				through := want[len(want)*2/3].TS
				got, err := drain(it.Iterator(from, through, logproto.Backward))
				if err != nil {
					t.Fatal(err)
				}
				if diff := diffEntries(got, window(want, from, through, logproto.Backward)); diff != "" {
					t.Fatalf("%T [%d, %d): %s", it, from, through, diff)
				}
			}
		}
		// The push-down of a literal taken from a line (which may cross into
		// the next line's bytes in the block) keeps exactly the lines that
		// contain it.
		if len(in) > 0 {
			l := in[len(in)/2].Line
			a := int(blockSize) % (len(l) + 1)
			lit := l[a:min(len(l), a+1+int(blockSize>>8)%8)] + []string{"", "\n", "x"}[int(enc)%3]
			for _, it := range []interface {
				Iterate(IterOptions) EntryIterator
			}{c, d} {
				for _, dir := range []logproto.Direction{logproto.Forward, logproto.Backward} {
					var lines, bytes int64
					got, err := drain(it.Iterate(IterOptions{From: math.MinInt64, Through: math.MaxInt64, Direction: dir,
						Contains: []string{lit, "\x00\x01"}, SkippedLines: &lines, SkippedBytes: &bytes}))
					if err != nil {
						t.Fatal(err)
					}
					var keep []entry
					var n, nb int64
					for _, e := range window(want, math.MinInt64, math.MaxInt64, dir) {
						if containsAny(e.Line, []string{lit, "\x00\x01"}) {
							keep = append(keep, e)
						} else {
							n, nb = n+1, nb+int64(len(e.Line))
						}
					}
					if diff := diffEntries(got, keep); diff != "" || lines != n || bytes != nb {
						t.Fatalf("%T %v contains %q: %s; skipped %d, %d, want %d, %d", it, dir, lit, diff, lines, bytes, n, nb)
					}
				}
			}
		}
		// Determinism: the sorted entries, appended in order, encode the same.
		sorted := NewMemChunk(cfg)
		appendAll(t, sorted, want)
		b2, err := sorted.Encode()
		if err != nil {
			t.Fatal(err)
		}
		if string(b) != string(b2) {
			t.Fatal("encoding depends on arrival order")
		}
	})
}
