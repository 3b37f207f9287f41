package wal

import (
	"bytes"
	"context"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// cloneRecord deep-copies r: a replayed record points into a reused buffer.
func cloneRecord(r *Record) Record {
	c := *r
	c.Tenant, c.Labels = strings.Clone(r.Tenant), strings.Clone(r.Labels)
	c.Entries = nil
	for _, e := range r.Entries {
		e.Line = strings.Clone(e.Line)
		var md []Label
		for _, l := range e.Metadata {
			md = append(md, Label{strings.Clone(l.Name), strings.Clone(l.Value)})
		}
		e.Metadata = md
		c.Entries = append(c.Entries, e)
	}
	c.Cuts = append([]ChunkCut(nil), r.Cuts...)
	c.Flushed = append([]FlushedChunk(nil), r.Flushed...)
	c.Chunk.Data = bytes.Clone(r.Chunk.Data)
	c.labels, c.spans = nil, nil
	return c
}

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// The golden WAL in testdata/golden-v1 is a checkpoint (segment 0) holding
// the Series and Chunk samples, then segment 1 holding the other samples.
// An old WAL must stay readable: never change these files, add a new version.
func goldenFiles() map[string][]Record {
	var cp, seg []Record
	for _, r := range sampleRecords() {
		if r.Type == TypeSeries || r.Type == TypeChunk {
			cp = append(cp, r)
		} else {
			seg = append(seg, r)
		}
	}
	return map[string][]Record{
		"checkpoint.00000000/00000000": cp,
		"00000001":                     seg,
	}
}

func TestGoldenV1(t *testing.T) {
	golden := filepath.Join("testdata", "golden-v1")
	files := goldenFiles()
	for name, recs := range files {
		want := appendSegmentHeader(nil)
		for i := range recs {
			want = appendFrame(want, encode(&recs[i]))
		}
		path := filepath.Join(golden, name)
		if *update {
			os.MkdirAll(filepath.Dir(path), 0o755)
			if err := os.WriteFile(path, want, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		got, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s: the encoder no longer writes the golden bytes (format change? add a version)", name)
		}
	}

	// Replay a copy (Open may tidy the directory).
	dir := t.TempDir()
	for name := range files {
		data, err := os.ReadFile(filepath.Join(golden, name))
		if err != nil {
			t.Fatal(err)
		}
		os.MkdirAll(filepath.Join(dir, filepath.Dir(name)), 0o755)
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	w, err := Open(Options{Dir: dir}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	var got []Record
	st, err := w.Replay(context.Background(), func(r *Record) error {
		got = append(got, normalize(cloneRecord(r)))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	var want []Record
	for _, name := range []string{"checkpoint.00000000/00000000", "00000001"} {
		for _, r := range files[name] {
			want = append(want, normalize(r))
		}
	}
	if st.Checkpoint != 0 || st.Segments != 1 || st.Damaged != 0 {
		t.Fatalf("stats %+v", st)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("replayed golden WAL:\n got %+v\nwant %+v", got, want)
	}
}
