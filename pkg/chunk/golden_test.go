package chunk

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/skald-logs/skald/pkg/logproto"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

// goldenConfig cuts small blocks so that the golden chunks have several.
var goldenConfig = Config{BlockSize: 2 << 10}

// goldenInput is the arrival sequence behind the golden files: real lines,
// out of order, with duplicates, equal timestamps, empty lines and metadata.
func goldenInput(tb testing.TB) []entry {
	ssh := sshEntries(tb, 1_700_000_000_000_000_000)[:60]
	apache := apacheEntries(tb)[:40]
	in := slices.Clone(ssh[30:])
	in = append(in, apache...)
	in = append(in, ssh[:30]...)
	in = append(in, ssh[10:20]...) // duplicates
	in = append(in,
		entry{TS: ssh[5].TS, Line: "same time as another line"},
		entry{TS: ssh[5].TS, Line: ""},
		entry{TS: -42, Line: "before 1970", SM: []logproto.LabelAdapter{{Name: "detected_level", Value: "debug"}, {Name: "trace_id", Value: "4bf92f3577b34da6a3ce929d0e0e4736"}}},
		entry{TS: math.MinInt64, Line: "the oldest possible", SM: []logproto.LabelAdapter{{Name: "k", Value: ""}}},
		entry{TS: 0, Line: "unicode: 日本語 ✓"},
	)
	return in
}

// goldenVersion is the version the writer produces; the golden files of
// older versions stay in testdata/golden and must keep decoding.
const goldenVersion = version2

func TestGolden(t *testing.T) {
	dir := filepath.Join("testdata", "golden")
	entriesFile := func(v byte) string { return filepath.Join(dir, fmt.Sprintf("v%d-entries.json", v)) }
	encodings := []Encoding{EncodingSnappy, EncodingS2, EncodingZstd}
	if *update {
		in := goldenInput(t)
		want, _ := model(in)
		js := []byte("[\n")
		for i, e := range want {
			line, err := json.Marshal(e)
			if err != nil {
				t.Fatal(err)
			}
			js = append(js, line...)
			if i < len(want)-1 {
				js = append(js, ',')
			}
			js = append(js, '\n')
		}
		js = append(js, ']')
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(entriesFile(goldenVersion), append(js, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
		for _, enc := range encodings {
			cfg := goldenConfig
			cfg.Encoding = enc
			c := NewMemChunk(cfg)
			appendAll(t, c, in)
			b, err := c.Encode()
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("v%d-%v.chunk", goldenVersion, enc)), b, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}

	files, err := filepath.Glob(filepath.Join(dir, "*.chunk"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no golden chunks (%v)", err)
	}
	versions := map[byte]bool{}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			var v byte
			if _, err := fmt.Sscanf(filepath.Base(f), "v%d-", &v); err != nil {
				t.Fatalf("golden file name: %v", err)
			}
			versions[v] = true
			if len(b) < headerLen || b[4] != v {
				t.Fatalf("version byte is not %d", v)
			}
			want, err := readEntries(entriesFile(v))
			if err != nil {
				t.Fatal(err)
			}
			c, err := Decode(b)
			if err != nil {
				t.Fatal(err)
			}
			if c.Blocks() < 2 {
				t.Errorf("golden chunk has %d blocks, want several", c.Blocks())
			}
			for _, dir := range []logproto.Direction{logproto.Forward, logproto.Backward} {
				got, err := drain(c.Iterator(math.MinInt64, math.MaxInt64, dir))
				if err != nil {
					t.Fatal(err)
				}
				if d := diffEntries(got, window(want, math.MinInt64, math.MaxInt64, dir)); d != "" {
					t.Fatalf("%v: %s", dir, d)
				}
			}
		})
	}

	if !versions[version1] || !versions[goldenVersion] {
		t.Errorf("golden chunks of versions %v, want 1 and %d", versions, goldenVersion)
	}

	// The writer still produces these bytes from these entries. Only snappy
	// is checked: s2 and zstd output may change with a klauspost/compress
	// upgrade without breaking old chunks (and so may snappy's, which the
	// s2 package writes; then update the file after checking that only the
	// compressed bytes changed). If this fails after an intended format
	// change, bump the version and keep the old golden files next to the
	// new ones.
	cfg := goldenConfig
	cfg.Encoding = EncodingSnappy
	c := NewMemChunk(cfg)
	appendAll(t, c, goldenInput(t))
	b, err := c.Encode()
	if err != nil {
		t.Fatal(err)
	}
	name := fmt.Sprintf("v%d-snappy.chunk", goldenVersion)
	old, err := os.ReadFile(filepath.Join(dir, name))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(b, old) {
		t.Errorf("Encode no longer reproduces %s (%d vs %d bytes)", name, len(b), len(old))
	}
}

// readEntries reads a golden entries file.
func readEntries(path string) ([]entry, error) {
	js, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var out []entry
	err = json.Unmarshal(js, &out)
	return out, err
}
