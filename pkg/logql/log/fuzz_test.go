package log

import (
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/skald-logs/skald/pkg/logproto"
)

// checkResult verifies invariants every processed entry must hold: each
// category sorted, no name in two categories, valid UTF-8 label names.
func checkResult(t *testing.T, res *LabelsResult) {
	t.Helper()
	seen := map[string]bool{}
	res.Stream.Range(func(l labels.Label) { seen[l.Name] = true })
	for _, group := range [][]logproto.LabelAdapter{res.StructuredMetadata, res.Parsed} {
		if !slices.IsSortedFunc(group, func(a, b logproto.LabelAdapter) int { return strings.Compare(a.Name, b.Name) }) {
			t.Fatalf("unsorted labels %v", group)
		}
		for _, l := range group {
			if seen[l.Name] {
				t.Fatalf("label %q in two categories: %v", l.Name, res)
			}
			seen[l.Name] = true
			if l.Name == "" || !utf8.ValidString(l.Name) {
				t.Fatalf("bad label name %q", l.Name)
			}
		}
	}
}

func fuzzStage(f *testing.F, query string, seeds []string) {
	for _, s := range seeds {
		f.Add(s)
	}
	p := compile(f, query)
	stream := labels.FromStrings("app", "web", "level", "x")
	f.Fuzz(func(t *testing.T, line string) {
		sp := p.ForStream(stream)
		for range 2 { // twice: the second run uses interned keys
			out, res, ok := sp.Process(0, []byte(line), []logproto.LabelAdapter{{Name: "trace", Value: "t"}})
			if !ok {
				t.Fatal("parser dropped a line")
			}
			if query != `{app="web"} | unpack` && string(out) != line {
				t.Fatalf("line changed: %q", out)
			}
			checkResult(t, res)
		}
	})
}

func FuzzJSONParser(f *testing.F) {
	fuzzStage(f, `{app="web"} | json`, []string{
		`{"a":"b","n":1.5,"t":true,"z":null,"arr":[1,{"x":2}],"o":{"x":"y","d":{"k":"v"}}}`,
		`{"app":"x","level":"y","trace":"z"}`,
		`{"a\u0062":"\ud83d\ude00\"","":"e","1":{"2":3}}`,
		`{"a":1,}`, `{"a":`, `{"a":tru}`, `[1]`, `"s"`, ``, `{"a":"\x`, `{"a":{"b":[}`,
	})
}

func FuzzJSONExpressionParser(f *testing.F) {
	fuzzStage(f, `{app="web"} | json a="a.b", b="l[1]", c="[0].x", d="[\"k.k\"]", level="lv"`, []string{
		`{"a":{"b":"x"},"l":[1,"two"],"k.k":1,"lv":"i"}`,
		`[{"x":1}]`, `{"a":`, `{"a":{"b":tru}}`, `"x"`, `[`,
	})
}

func FuzzLogfmtParser(f *testing.F) {
	seeds := []string{
		`level=info msg="hello world" dur=1.5s empty= flag`,
		`a="x\"y\u00e9\ud83d" b==c d="unterminated`,
		`=x "y z=1 k\xff=v app=1 trace=2`,
	}
	fuzzStage(f, `{app="web"} | logfmt`, seeds)
}

func FuzzLogfmtStrict(f *testing.F) {
	fuzzStage(f, `{app="web"} | logfmt --strict --keep-empty`, []string{`a=1 b= c="x" =d`, `k="\q"`})
}

func FuzzUnpack(f *testing.F) {
	fuzzStage(f, `{app="web"} | unpack`, []string{`{"_entry":"x \"y\"","a":"b"}`, `{"_entry":1}`, `{"_entry":"\q"}`})
}

func FuzzPatternMatcher(f *testing.F) {
	f.Add("<ip> - <_> [<ts>] \"<method> <path>\"", `1.2.3.4 - - [x] "GET /"`)
	f.Add("<a> x <b>", "1 x 2 x 3")
	f.Add("<_>foo<_>", "foofoo")
	f.Add("", "")
	f.Fuzz(func(t *testing.T, pattern, line string) {
		if m, err := newPatternMatcher(pattern); err == nil {
			caps := m.matches([]byte(line))
			if len(caps) > len(m.names) {
				t.Fatalf("%d captures for %d names", len(caps), len(m.names))
			}
			for _, c := range caps {
				if !strings.Contains(line, string(c)) {
					t.Fatalf("capture %q not in line", c)
				}
			}
		}
		if m, err := newPatternLineFilter(pattern); err == nil {
			m.test([]byte(line))
		}
	})
}

func FuzzJSONPath(f *testing.F) {
	for _, s := range []string{`a.b[0]["c"]`, `[0]`, `a[`, `a..b`, `"x"`, `a[1.5]`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, expr string) {
		path, err := parseJSONPath(expr)
		if err == nil && len(path) == 0 {
			t.Fatal("empty path without error")
		}
		if err == nil {
			_, _, _, _ = jsonLookup([]byte(`{"a":{"b":[{"c":1}]},"x":[1]}`), path)
		}
	})
}
