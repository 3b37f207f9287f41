package log

import (
	"sync"
	"testing"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/skald-logs/skald/pkg/logproto"
)

// sliceIterator is a RawIterator over fixed entries that, like a chunk
// iterator, reuses one line buffer.
type sliceIterator struct {
	lines []string
	sm    [][]logproto.LabelAdapter
	i     int
	buf   []byte
}

func (it *sliceIterator) Next() bool {
	if it.i >= len(it.lines) {
		return false
	}
	it.buf = append(it.buf[:0], it.lines[it.i]...)
	it.i++
	return true
}

func (it *sliceIterator) At() (int64, []byte, []logproto.LabelAdapter) {
	var sm []logproto.LabelAdapter
	if it.sm != nil {
		sm = it.sm[it.i-1]
	}
	return int64(it.i), it.buf, sm
}
func (it *sliceIterator) Err() error   { return nil }
func (it *sliceIterator) Close() error { return nil }

func TestEntryIteratorCopies(t *testing.T) {
	p := compile(t, `{app="web"} | json | level != "debug" | line_format "{{.level}}:{{.msg}}"`)
	raw := &sliceIterator{
		lines: []string{`{"level":"info","msg":"a"}`, `{"level":"debug","msg":"b"}`, `{"level":"warn","msg":"c\"d"}`},
		sm:    [][]logproto.LabelAdapter{{{Name: "t", Value: "1"}}, nil, {{Name: "t", Value: "3"}}},
	}
	var c Counters
	it := NewEntryIterator(raw, p.ForStream(labels.FromStrings("app", "web")), &c)
	var got []logproto.Entry
	for it.Next() {
		got = append(got, it.At())
		if it.Labels().String() != `{app="web"}` || it.StreamHash() != testHash(it.Labels()) {
			t.Errorf("labels %s hash %d", it.Labels(), it.StreamHash())
		}
	}
	want := []struct{ line, sm, parsed string }{
		{`info:a`, `{t="1"}`, `{level="info", msg="a"}`},
		{`warn:c"d`, `{t="3"}`, `{level="warn", msg="c\"d"}`},
	}
	if len(got) != len(want) {
		t.Fatalf("got %d entries", len(got))
	}
	for i, w := range want {
		if got[i].Line != w.line || fmtLabels(got[i].StructuredMetadata) != w.sm || fmtLabels(got[i].Parsed) != w.parsed {
			t.Errorf("entry %d: %q %s %s, want %q %s %s", i, got[i].Line, fmtLabels(got[i].StructuredMetadata), fmtLabels(got[i].Parsed), w.line, w.sm, w.parsed)
		}
	}
	if c.Lines != 3 || c.PostFilter != 2 || c.Bytes != int64(len(raw.lines[0])+len(raw.lines[1])+len(raw.lines[2])) {
		t.Errorf("counters %+v", c)
	}
}

func TestStreamResults(t *testing.T) {
	p := compile(t, `{app="web"} | logfmt | drop env="dev"`)
	sp := p.ForStream(labels.FromStrings("app", "web", "env", "dev"))
	_, r1, _ := sp.Process(0, []byte("a=1"), nil)
	s1, h1 := r1.Stream, r1.Hash
	if s1.String() != `{app="web"}` || h1 != testHash(s1) {
		t.Fatalf("stream %s hash %d", s1, h1)
	}
	if v, ok := r1.Get("a"); !ok || v != "1" {
		t.Errorf("Get(a) = %q %v", v, ok)
	}
	if v, ok := r1.Get("app"); !ok || v != "web" {
		t.Errorf("Get(app) = %q %v", v, ok)
	}
	if _, ok := r1.Get("env"); ok {
		t.Error("Get(env) found a dropped label")
	}
	var sb labels.ScratchBuilder
	if all := r1.Labels(&sb); all.String() != `{a="1", app="web"}` {
		t.Errorf("Labels() = %s", all)
	}
	kept := r1.Clone()
	_, r2, _ := sp.Process(0, []byte("a=2"), nil)
	if r2.Stream.String() != `{app="web"}` || fmtLabels(kept.Parsed) != `{a="1"}` {
		t.Errorf("second entry %s; clone of first %s", r2.Stream, fmtLabels(kept.Parsed))
	}
}

func TestWithStages(t *testing.T) {
	expr, err := parseSelector(`{app="web"} | logfmt`)
	if err != nil {
		t.Fatal(err)
	}
	p, err := NewPipeline(expr, testHash)
	if err != nil {
		t.Fatal(err)
	}
	lexpr, err := parseSelector(`{app="web"} | n > 1`)
	if err != nil {
		t.Fatal(err)
	}
	f, err := newStage(lexpr.Stages()[0])
	if err != nil {
		t.Fatal(err)
	}
	sp := p.(*pipeline).withStages(f).ForStream(labels.FromStrings("app", "web"))
	if _, _, ok := sp.Process(0, []byte("n=2"), nil); !ok {
		t.Error("n=2 dropped")
	}
	if _, _, ok := sp.Process(0, []byte("n=0"), nil); ok {
		t.Error("n=0 kept")
	}
	if _, _, ok := p.ForStream(labels.FromStrings("app", "web")).Process(0, []byte("n=0"), nil); !ok {
		t.Error("the original pipeline changed")
	}
}

// TestConcurrentStreams runs one pipeline's streams in parallel (meaningful
// under -race).
func TestConcurrentStreams(t *testing.T) {
	p := compile(t, `{app="web"} | json | line_format "{{.a}} {{__line__}}" | label_format b="{{.a | upper}}"`)
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sp := p.ForStream(labels.FromStrings("app", "web", "g", string(rune('a'+g))))
			for range 200 {
				out, res, ok := sp.Process(0, []byte(`{"a":"x"}`), nil)
				if !ok || string(out) != `x {"a":"x"}` || fmtLabels(res.Parsed) != `{a="x", b="X"}` {
					t.Errorf("got %q %v", out, res)
					return
				}
			}
		}()
	}
	wg.Wait()
}
