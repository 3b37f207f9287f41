package chunk

import (
	"bytes"
	"cmp"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/skald-logs/skald/pkg/logproto"
)

// entry is a copied entry, for comparisons.
type entry struct {
	TS   int64                   `json:"ts"`
	Line string                  `json:"line"`
	SM   []logproto.LabelAdapter `json:"sm,omitempty"`
}

func (e entry) String() string { return fmt.Sprintf("%d %q %v", e.TS, e.Line, e.SM) }

func sameEntry(a, b entry) bool {
	return a.TS == b.TS && a.Line == b.Line && labelsEqual(a.SM, b.SM)
}

// drain copies every entry of it and closes it.
func drain(it EntryIterator) ([]entry, error) {
	var out []entry
	for it.Next() {
		ts, line, sm := it.At()
		out = append(out, entry{TS: ts, Line: string(line), SM: slices.Clone(sm)})
	}
	err := it.Err()
	if cerr := it.Close(); err == nil {
		err = cerr
	}
	if it.Next() {
		return out, fmt.Errorf("Next returned true after Close")
	}
	return out, err
}

// model is what a chunk must hold after appending in: the first of each
// set of exact duplicates, stably sorted by timestamp.
func model(in []entry) (out []entry, dups []bool) {
	dups = make([]bool, len(in))
	for i, e := range in {
		for _, o := range out {
			if sameEntry(o, e) {
				dups[i] = true
				break
			}
		}
		if !dups[i] {
			out = append(out, e)
		}
	}
	slices.SortStableFunc(out, func(a, b entry) int { return cmp.Compare(a.TS, b.TS) })
	return out, dups
}

// window returns the entries of sorted in [from, through) in direction dir.
func window(sorted []entry, from, through int64, dir logproto.Direction) []entry {
	var out []entry
	for _, e := range sorted {
		if e.TS >= from && e.TS < through {
			out = append(out, e)
		}
	}
	if dir == logproto.Backward {
		slices.Reverse(out)
	}
	return out
}

func diffEntries(got, want []entry) string {
	if len(got) != len(want) {
		return fmt.Sprintf("got %d entries, want %d", len(got), len(want))
	}
	for i := range got {
		if !sameEntry(got[i], want[i]) {
			return fmt.Sprintf("entry %d: got %v, want %v", i, got[i], want[i])
		}
	}
	return ""
}

// readLines reads a testdata log file, one entry per line (CR stripped).
func readLines(tb testing.TB, path string) []string {
	tb.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	var out []string
	for l := range bytes.SplitSeq(b, []byte("\n")) {
		l = bytes.TrimSuffix(l, []byte("\r"))
		if len(l) > 0 {
			out = append(out, string(l))
		}
	}
	return out
}

// apacheEntries returns the apache sample with its own timestamps (sorted by
// minute only, so often out of order) and a detected_level from the status.
func apacheEntries(tb testing.TB) []entry {
	tb.Helper()
	lines := readLines(tb, "testdata/elastic/apache_logs_2k")
	out := make([]entry, 0, len(lines))
	for i, l := range lines {
		a, b := strings.IndexByte(l, '['), strings.IndexByte(l, ']')
		ts, err := time.Parse("02/Jan/2006:15:04:05 -0700", l[a+1:b])
		if err != nil {
			tb.Fatalf("line %d: %v", i, err)
		}
		level := "info"
		if f := strings.Fields(l[b:]); len(f) > 4 {
			if code, err := strconv.Atoi(f[4]); err == nil && code >= 500 {
				level = "error"
			} else if code >= 400 {
				level = "warn"
			}
		}
		out = append(out, entry{TS: ts.UnixNano(), Line: l, SM: []logproto.LabelAdapter{{Name: "detected_level", Value: level}}})
	}
	return out
}

// sshEntries returns the OpenSSH sample at one entry per millisecond from
// start, in order, with a detected_level on most lines.
func sshEntries(tb testing.TB, start int64) []entry {
	tb.Helper()
	lines := readLines(tb, "testdata/loghub/OpenSSH_2k.log")
	out := make([]entry, len(lines))
	for i, l := range lines {
		out[i] = entry{TS: start + int64(i)*int64(time.Millisecond), Line: l}
		switch {
		case strings.Contains(l, "Invalid") || strings.Contains(l, "Failed"):
			out[i].SM = []logproto.LabelAdapter{{Name: "detected_level", Value: "warn"}}
		case i%7 != 0:
			out[i].SM = []logproto.LabelAdapter{{Name: "detected_level", Value: "info"}}
		}
	}
	return out
}

// shuffleKeepTies shuffles entries but keeps the relative order of entries
// with equal timestamps: the arrival orders that must encode identically.
func shuffleKeepTies(in []entry, r *rand.Rand) []entry {
	out := slices.Clone(in)
	r.Shuffle(len(out), func(i, j int) { out[i], out[j] = out[j], out[i] })
	// Reassign, per timestamp, the original order among the positions that
	// timestamp now occupies.
	byTS := map[int64][]entry{}
	for _, e := range in {
		byTS[e.TS] = append(byTS[e.TS], e)
	}
	for i := range out {
		q := byTS[out[i].TS]
		out[i], byTS[out[i].TS] = q[0], q[1:]
	}
	return out
}

func appendAll(tb testing.TB, c *MemChunk, in []entry) []bool {
	tb.Helper()
	dups := make([]bool, len(in))
	for i, e := range in {
		dup, err := c.Append(e.TS, e.Line, e.SM)
		if err != nil {
			tb.Fatalf("append %d: %v", i, err)
		}
		dups[i] = dup
	}
	return dups
}
