package chunk

import (
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/skald-logs/skald/pkg/logproto"
)

// containsAny is the model of IterOptions.Contains.
func containsAny(line string, lits []string) bool {
	if len(lits) == 0 {
		return true
	}
	for _, l := range lits {
		if strings.Contains(line, l) {
			return true
		}
	}
	return false
}

// checkContains iterates c with every literal set over ranges of want and
// compares with the model, including the skipped counts.
func checkContains(t *testing.T, what string, c interface {
	Iterate(IterOptions) EntryIterator
}, want []entry, litSets [][]string, r *rand.Rand) {
	t.Helper()
	for _, lits := range litSets {
		for _, rg := range ranges(want, r) {
			for _, dir := range []logproto.Direction{logproto.Forward, logproto.Backward} {
				var lines, bytes int64
				got, err := drain(c.Iterate(IterOptions{From: rg[0], Through: rg[1], Direction: dir, Contains: lits, SkippedLines: &lines, SkippedBytes: &bytes}))
				if err != nil {
					t.Fatalf("%s %q [%d, %d) %v: %v", what, lits, rg[0], rg[1], dir, err)
				}
				var keep []entry
				var wantLines, wantBytes int64
				for _, e := range window(want, rg[0], rg[1], dir) {
					if containsAny(e.Line, lits) {
						keep = append(keep, e)
					} else {
						wantLines++
						wantBytes += int64(len(e.Line))
					}
				}
				if d := diffEntries(got, keep); d != "" {
					t.Fatalf("%s %q [%d, %d) %v: %s", what, lits, rg[0], rg[1], dir, d)
				}
				if lines != wantLines || bytes != wantBytes {
					t.Fatalf("%s %q [%d, %d) %v: skipped %d lines, %d bytes, want %d, %d", what, lits, rg[0], rg[1], dir, lines, bytes, wantLines, wantBytes)
				}
			}
		}
	}
}

func TestIterateContains(t *testing.T) {
	ssh := sshEntries(t, 1_700_000_000_000_000_000)[:1500]
	multiline := synthetic(rand.New(rand.NewPCG(7, 8)), 300, 1000)
	for i := range multiline {
		if i%3 == 0 {
			multiline[i].Line = fmt.Sprintf("panic: %d\n\tat main.go:%d\nend", i, i)
		}
	}
	cases := []struct {
		name string
		cfg  Config
		in   []entry
		lits [][]string
	}{
		{"ssh", Config{BlockSize: 4 << 10}, ssh, [][]string{
			nil,
			{"Failed password for root"},      // many lines
			{"Failed password for invalid"},   // fewer
			{"no such literal"},               // none: every block skipped
			{"Invalid user", "Connection cl"}, // any of
			{"sshd"},                          // every line
			{"Accepted", ""},                  // "" matches all lines
			{"\n"},                            // only across lines
			{"3:", "\nDec"},                   // one alternative crosses lines
			{"LabSZ"},
		}},
		{"apache out of order", Config{BlockSize: 2 << 10}, apacheEntries(t)[:600], [][]string{
			{"GET /presentations/"}, {"HTTP/1.1\" 404"}, {"HTTP/1.1\" 404", "\" 500 "}, {"zzz"},
		}},
		{"multiline lines", Config{BlockSize: 2 << 10}, multiline, [][]string{
			{"\n\tat"}, {"end"}, {"d\npanic"}, {"xxx"}, {"line 1"},
		}},
		{"equal timestamps", Config{BlockSize: 300}, synthetic(rand.New(rand.NewPCG(9, 10)), 200, 5), [][]string{
			{"line 1"}, {"xxxxxxxx"}, {"line 1", "line 2"},
		}},
	}
	for _, tc := range cases {
		for _, enc := range []Encoding{EncodingSnappy, EncodingZstd} {
			t.Run(fmt.Sprintf("%s/%v", tc.name, enc), func(t *testing.T) {
				r := rand.New(rand.NewPCG(11, 12))
				cfg := tc.cfg
				cfg.Encoding = enc
				c := NewMemChunk(cfg)
				appendAll(t, c, tc.in)
				want, _ := model(tc.in)
				checkContains(t, "memchunk", c, want, tc.lits, r)
				b, err := c.Encode()
				if err != nil {
					t.Fatal(err)
				}
				for _, decode := range []func([]byte) (*Chunk, error){Decode, DecodeTrusted} {
					d, err := decode(b)
					if err != nil {
						t.Fatal(err)
					}
					checkContains(t, "decoded", d, want, tc.lits, r)
				}
			})
		}
	}
}

// TestIterateContainsV1 runs the push-down over the version-1 golden
// chunks, whose lines are not in one region.
func TestIterateContainsV1(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join("testdata", "golden", "v1-*.chunk"))
	if len(files) == 0 {
		t.Fatal("no version-1 golden chunks")
	}
	want := goldenEntries(t, version1)
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		c, err := Decode(b)
		if err != nil {
			t.Fatal(err)
		}
		checkContains(t, filepath.Base(f), c, want, [][]string{{"Failed"}, {"GET", "before"}, {"none at all"}}, rand.New(rand.NewPCG(1, 1)))
	}
}

// TestSkipBlocks checks that a block without the literal is not decoded:
// a corrupt payload behind a valid checksum goes unnoticed when the
// literal cannot be in it, and is reported when it could be.
func TestSkipBlocks(t *testing.T) {
	in := sshEntries(t, 0)[:200]
	c := NewMemChunk(Config{BlockSize: 1 << 10})
	appendAll(t, c, in)
	// Break the timestamp unit of the first block: 0 is invalid.
	blk := c.blocks[0]
	payload := make([]byte, blk.meta.payloadLen)
	if err := c.codec.decode(payload, blk.data); err != nil {
		t.Fatal(err)
	}
	payload[1] = 0
	blk.data = c.codec.encode(nil, payload)

	all := IterOptions{From: math.MinInt64, Through: math.MaxInt64, Direction: logproto.Forward}
	if _, err := drain(c.Iterate(all)); err == nil {
		t.Fatal("a corrupt block iterates without error")
	}
	absent := all
	absent.Contains = []string{"no such line"}
	if got, err := drain(c.Iterate(absent)); err != nil || len(got) != 0 {
		t.Fatalf("literal in no block: %d entries, %v; want none, and the block skipped", len(got), err)
	}
	present := all
	present.Contains = []string{in[0].Line}
	if _, err := drain(c.Iterate(present)); err == nil {
		t.Fatal("a literal in the corrupt block: no error")
	}
}

// goldenEntries reads the entries of the golden files of a version.
func goldenEntries(t *testing.T, v byte) []entry {
	t.Helper()
	want, err := readEntries(filepath.Join("testdata", "golden", fmt.Sprintf("v%d-entries.json", v)))
	if err != nil {
		t.Fatal(err)
	}
	return want
}
