package logproto

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/prometheus/prometheus/model/labels"
)

func TestParseLabels(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want labels.Labels
	}{
		{`{app="api", env="prod"}`, labels.FromStrings("app", "api", "env", "prod")},
		{`{env="prod",app="api"}`, labels.FromStrings("app", "api", "env", "prod")},
		{`{ app = "api" , env = "prod" , }`, labels.FromStrings("app", "api", "env", "prod")},
		{"{\n\tapp=\"api\",\r\n\tenv=\"prod\"\n}\n", labels.FromStrings("app", "api", "env", "prod")},
		{`{}`, labels.EmptyLabels()},
		{``, labels.EmptyLabels()},
		{`   `, labels.EmptyLabels()},
		{`{a="", b="x"}`, labels.FromStrings("b", "x")},
		{`{a=""}`, labels.EmptyLabels()},
		{`{a="", a="x"}`, labels.FromStrings("a", "x")}, // the empty one is dropped before the duplicate check
		{`{a='single', b=` + "`raw\\n`" + `}`, labels.FromStrings("a", "single", "b", `raw\n`)},
		{`{a="tab\there \"q\" \\ \u00e9 \x41 \101 \U0001F600"}`, labels.FromStrings("a", "tab\there \"q\" \\ é A A 😀")},
		{`{a="\xff"}`, labels.FromStrings("a", "\xff")},
		{`{"service.name"="web"}`, labels.FromStrings("service.name", "web")},
		{`{"foo", a="b"}`, labels.FromStrings("__name__", "foo", "a", "b")},
		{`foo{a="b"}`, labels.FromStrings("__name__", "foo", "a", "b")},
		{`foo`, labels.FromStrings("__name__", "foo")},
		{`foo{__name__="bar"}`, labels.FromStrings("__name__", "foo")},
		{`{a="b"} # comment`, labels.FromStrings("a", "b")},
		{"{a=\"b\", # comment\n c=\"d\"}", labels.FromStrings("a", "b", "c", "d")},
		{`{_A1="x", __b="y"}`, labels.FromStrings("_A1", "x", "__b", "y")},
	} {
		got, err := ParseLabels(tc.in)
		if err != nil {
			t.Errorf("ParseLabels(%q): %v", tc.in, err)
			continue
		}
		if !labels.Equal(got, tc.want) {
			t.Errorf("ParseLabels(%q) = %s, want %s", tc.in, got, tc.want)
		}
	}
}

// TestParseLabelsMany covers long label lists, which are sorted without
// insertion sort's quadratic cost.
func TestParseLabelsMany(t *testing.T) {
	var in []string
	var pairs []string
	for i := 40; i > 0; i-- {
		in = append(in, fmt.Sprintf(`l%02d="v%d"`, i, i))
		pairs = append(pairs, fmt.Sprintf("l%02d", i), fmt.Sprintf("v%d", i))
	}
	got, err := ParseLabels("{" + strings.Join(in, ", ") + "}")
	if err != nil {
		t.Fatal(err)
	}
	if want := labels.FromStrings(pairs...); !labels.Equal(got, want) {
		t.Fatalf("got %s, want %s", got, want)
	}
	_, err = ParseLabels("{" + strings.Join(in, ", ") + `, l07="again"}`)
	var de *DuplicateLabelError
	if !errors.As(err, &de) || de.Name != "l07" {
		t.Fatalf("got %v, want duplicate l07", err)
	}
}

func TestParseLabelsErrors(t *testing.T) {
	for _, tc := range []struct {
		in, want string
	}{
		// The body Loki 3.7 answered for {"stream":{"job-x":"e"}}, after
		// its "couldn't parse labels: " prefix.
		{`{job-x="e"}`, `1:5: parse error: unexpected character inside braces: '-'`},
		{`{job="e"`, `1:9: parse error: unexpected end of input inside braces`},
		{`{job=e}`, `1:6: parse error: unexpected identifier "e" in label set, expected string`},
		{`{job}`, `1:5: parse error: unexpected "}" in label set, expected "="`},
		{`{,}`, `1:2: parse error: unexpected "," in label set, expected identifier or "}"`},
		{`{a="b" c="d"}`, `1:8: parse error: unexpected identifier "c" in label set, expected "," or "}"`},
		{`{a=~"b"}`, `1:3: parse error: unexpected <op:=~> in label set, expected "="`},
		{`{a="b\qc"}`, `1:4: parse error: unknown escape sequence U+0071 'q'`},
		{"{a=\"b\nc\"}", `1:4: parse error: unterminated quoted string`},
		{"\n{a=\"b\"\n,b-c=\"x\"}", `3:3: parse error: unexpected character inside braces: '-'`},
		{`{a="b"} x`, `1:9: parse error: unexpected identifier "x"`},
		{`{a="b"})`, `1:9: parse error: unexpected right parenthesis ')'`},
		{`{a="0123456789abcdef" "0123456789abc"}`, `1:23: parse error: unexpected string "\"012345678"... in label set, expected "," or "}"`},
		{`job="e"`, `1:4: parse error: unexpected "="`},
		{`bool{a="b"}`, `1:1: parse error: unexpected <bool>`},
		{"{a=\"\xef\xbf\xbd\"}", `1:4: parse error: invalid UTF-8 rune`},
	} {
		_, err := ParseLabels(tc.in)
		if err == nil {
			t.Errorf("ParseLabels(%q): no error, want %s", tc.in, tc.want)
			continue
		}
		if err.Error() != tc.want {
			t.Errorf("ParseLabels(%q):\n got %s\nwant %s", tc.in, err, tc.want)
		}
		var se *LabelSyntaxError
		if !errors.As(err, &se) || !errors.Is(err, ErrInvalidLabels) {
			t.Errorf("ParseLabels(%q): error %T does not wrap ErrInvalidLabels", tc.in, err)
		}
	}
}

func TestParseLabelsDuplicate(t *testing.T) {
	for _, tc := range []struct{ in, name string }{
		{`{a="1", a="2"}`, "a"},
		{`{b="1", a="2", b="3"}`, "b"},
		{`{"a"="1", a="2"}`, "a"},
		{`{z="1", z="2", b="1", b="2"}`, "b"}, // the first in sorted order
	} {
		_, err := ParseLabels(tc.in)
		var de *DuplicateLabelError
		if !errors.As(err, &de) || de.Name != tc.name || !errors.Is(err, ErrDuplicateLabelName) {
			t.Errorf("ParseLabels(%q) = %v, want duplicate %q", tc.in, err, tc.name)
		}
		if errors.Is(err, ErrInvalidLabels) {
			t.Errorf("ParseLabels(%q): a duplicate must not be ErrInvalidLabels", tc.in)
		}
	}
}

// TestParseLabelsGolden checks ParseLabels against what the real Prometheus
// parser made of the same inputs (testdata/parse_labels.golden, generated
// by testdata/promqlref).
func TestParseLabelsGolden(t *testing.T) {
	f, err := os.Open("testdata/parse_labels.golden")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	n := 0
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "#") {
			continue
		}
		quoted, want, ok := strings.Cut(line, "\t")
		in, err := strconv.Unquote(quoted)
		if !ok || err != nil {
			t.Fatalf("bad golden line %q", line)
		}
		n++
		got := goldenForm(ParseLabels(in))
		if got == want {
			continue
		}
		if numberApproximation(want, got) {
			continue
		}
		t.Errorf("ParseLabels(%q):\nprometheus: %s\nskald:      %s", in, want, got)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if n < 150 {
		t.Fatalf("only %d golden cases", n)
	}
}

// goldenForm renders a ParseLabels result as parse_labels.golden does.
func goldenForm(ls labels.Labels, err error) string {
	var de *DuplicateLabelError
	switch {
	case errors.As(err, &de):
		return "dup " + strconv.Quote(de.Name)
	case err != nil:
		return "err " + err.Error()
	}
	out := "ok"
	ls.Range(func(l labels.Label) {
		out += " " + strconv.Quote(l.Name) + " " + strconv.Quote(l.Value)
	})
	return out
}

// numberApproximation reports whether want and got are both errors at
// the same position about a number or duration outside the braces, whose
// exact text ParseLabels does not reproduce.
func numberApproximation(want, got string) bool {
	wp, wm, _ := strings.Cut(want, ": parse error: ")
	gp, gm, _ := strings.Cut(got, ": parse error: ")
	return wp == gp && strings.HasPrefix(gm, "unexpected number") &&
		(strings.Contains(wm, "number") || strings.Contains(wm, "duration"))
}

func TestLabelsString(t *testing.T) {
	for _, tc := range []struct {
		in   labels.Labels
		want string
	}{
		{labels.EmptyLabels(), `{}`},
		{labels.FromStrings("job", "e", "service_name", "e"), `{job="e", service_name="e"}`},
		{labels.FromStrings("a", "quote\" back\\ nl\n tab\t é \x00 \xff"), `{a="quote\" back\\ nl\n tab\t é \x00 \xff"}`},
		{labels.FromStrings("service.name", "x", "", "y"), `{""="y", "service.name"="x"}`},
		{labels.FromStrings("a", "\uFFFDx\uFFFD"), `{a="\ufffdx\ufffd"}`},
	} {
		if got := LabelsString(tc.in); got != tc.want {
			t.Errorf("LabelsString(%v) = %s, want %s", tc.in, got, tc.want)
		}
		// It prints what Prometheus prints, but for U+FFFD.
		if !strings.ContainsRune(tc.in.String(), utf8.RuneError) && tc.in.String() != tc.want {
			t.Errorf("labels.String() = %s, LabelsString = %s", tc.in.String(), tc.want)
		}
		back, err := ParseLabels(tc.want)
		if err != nil || !labels.Equal(back, tc.in) {
			t.Errorf("ParseLabels(%s) = %v, %v; want %v", tc.want, back, err, tc.in)
		}
	}
}

func FuzzParseLabels(f *testing.F) {
	for _, s := range []string{
		`{app="api", env="prod"}`, `{}`, ``, `{a="b",}`, `foo{a="b"}`, `{"a.b"="c"}`,
		`{a='b', c=` + "`d`" + `}`, `{a="\u00e9\x41\101"}`, `{job-x="e"}`, `{a="b" # c` + "\n}",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		ls, err := ParseLabels(in)
		if err != nil {
			var se *LabelSyntaxError
			var de *DuplicateLabelError
			if !errors.As(err, &se) && !errors.As(err, &de) {
				t.Fatalf("ParseLabels(%q): unexpected error type %T: %v", in, err, err)
			}
			if se != nil && (se.Line < 1 || se.Col < 1 || se.Col > len(in)+1) {
				t.Fatalf("ParseLabels(%q): position %d:%d out of the input", in, se.Line, se.Col)
			}
			return
		}
		// Sorted, no duplicates, no empty values.
		prev := ""
		i := 0
		ls.Range(func(l labels.Label) {
			if l.Value == "" || (i > 0 && l.Name <= prev) {
				t.Fatalf("ParseLabels(%q) = %s: not sorted, duplicate or empty value", in, ls)
			}
			prev = l.Name
			i++
		})
		// LabelsString is its inverse.
		s := LabelsString(ls)
		back, err := ParseLabels(s)
		if err != nil || !labels.Equal(back, ls) {
			t.Fatalf("round trip of %q: ParseLabels(%s) = %v, %v; want %s", in, s, back, err, ls)
		}
		if s2 := LabelsString(back); s2 != s {
			t.Fatalf("LabelsString not stable: %s then %s", s, s2)
		}
	})
}

func BenchmarkParseLabels(b *testing.B) {
	for _, bc := range []struct{ name, in string }{
		{"4labels", `{app="api", env="prod", job="smoke", level="info"}`},
		{"k8s", `{app="checkout", cluster="eu-west-1", container="server", job="shop/checkout", namespace="shop", node="ip-10-0-12-7", pod="checkout-7d9f8b6c5-x2x4q", stream="stdout"}`},
		{"escapes", `{app="api", path="C:\\logs\\app.log", msg="say \"hi\""}`},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(bc.in)))
			for b.Loop() {
				if _, err := ParseLabels(bc.in); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkLabelsString(b *testing.B) {
	ls := labels.FromStrings("app", "checkout", "cluster", "eu-west-1", "container", "server", "namespace", "shop", "pod", "checkout-7d9f8b6c5-x2x4q")
	b.ReportAllocs()
	b.SetBytes(int64(len(LabelsString(ls))))
	for b.Loop() {
		_ = LabelsString(ls)
	}
}
