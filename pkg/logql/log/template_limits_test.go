package log

import (
	"fmt"
	"strings"
	"testing"
)

// TestTemplateLimits checks that a line_format or label_format template
// cannot run without end nor build strings without bound: each of these
// took minutes to hours per line, or crashed the process with a fatal
// out-of-memory error that no recover catches. They now fail with
// __error__=TemplateFormatErr, as any failing template does, and the line
// is kept.
func TestTemplateLimits(t *testing.T) {
	fanOut := func(depth int) string {
		var b strings.Builder
		for i := range depth {
			fmt.Fprintf(&b, `{{define "t%d"}}{{template "t%d"}}{{template "t%d"}}{{end}}`, i, i+1, i+1)
		}
		fmt.Fprintf(&b, `{{define "t%d"}}x{{end}}{{template "t0"}}`, depth)
		return b.String()
	}
	chain := func(first, step string, n int) string {
		s := "{{ $a := " + first + " }}"
		for range n {
			s += "{{ $a = " + step + " }}"
		}
		return s + "{{ len $a }}"
	}
	for _, tc := range []struct {
		name, tmpl, detail string
	}{
		{"range over a large number", `{{ range 1000000000 }}{{ end }}`, "steps"},
		{"nested ranges", `{{ range 1000 }}{{ range 1000 }}{{ end }}{{ end }}`, "steps"},
		{"nested ranges over a computed number", `{{ range (mul 1000 1000 1000) }}{{ end }}`, "steps"},
		{"templates calling each other twice", fanOut(40), "steps"},
		{"replace of the empty string, squared", `{{ $a := replace "" "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx" __line__ }}{{ $b := replace "" $a $a }}{{ $c := replace "" $b $b }}`, "exceeds"},
		{"Replace of the empty string, squared", `{{ $a := Replace (repeat 1000 "y") "" (repeat 1000 "z") -1 }}{{ Replace $a "" $a -1 }}`, "exceeds"},
		{"regexReplaceAll of the empty match, squared", `{{ $a := repeat 1000 "y" }}{{ $b := regexReplaceAll "" $a $a }}{{ regexReplaceAll "" $b $b }}`, "exceeds"},
		{"regexReplaceAllLiteral of the empty match, squared", `{{ $a := repeat 1000 "y" }}{{ $b := regexReplaceAllLiteral "" $a $a }}{{ regexReplaceAllLiteral "" $b $b }}`, "exceeds"},
		{"repeat", `{{ repeat 1000000000 "xy" }}`, "exceeds"},
		{"alignLeft", `{{ alignLeft 1000000000 "x" }}`, "exceeds"},
		{"alignRight", `{{ alignRight 1000000000 "x" }}`, "exceeds"},
		{"indent", `{{ indent 1000000000 "x" }}`, "exceeds"},
		{"nindent", `{{ nindent 1000 (repeat 10000 "\n") }}`, "exceeds"},
		{"printf doubling", chain(`__line__`, `printf "%s%s" $a $a`, 60), "exceeds"},
		{"print doubling", chain(`__line__`, `print $a $a`, 60), "exceeds"},
		{"println doubling", chain(`__line__`, `println $a $a`, 60), "exceeds"},
		{"js escaping", chain(`"<<<<<<<<"`, `js $a`, 40), "exceeds"},
		{"b64enc", chain(`__line__`, `b64enc $a`, 100), "exceeds"},
		{"output", `{{ range 4000 }}{{ repeat 1000 "x" }}{{ end }}`, "exceeds"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, stage := range []string{"line_format `" + tc.tmpl + "`", "label_format out=`" + tc.tmpl + "`"} {
				q := `{app="web"} | ` + stage
				got := processOne(t, q, `{app="web"}`, 0, "line", nil)
				if !got.keep || got.line != "line" || !strings.Contains(got.parsed, `__error__="TemplateFormatErr"`) || !strings.Contains(got.parsed, tc.detail) {
					t.Errorf("%s: keep=%v line=%.40q parsed=%.300s", stage, got.keep, got.line, got.parsed)
				}
			}
		})
	}
}

// TestTemplateWithinLimits checks that templates inside the limits behave
// as they do without them: ranges, nested templates, functions whose
// output grows, and the builtins the limits replace.
func TestTemplateWithinLimits(t *testing.T) {
	big := strings.Repeat("k=v ", 25000) // 100,000 bytes
	for _, c := range []struct{ tmpl, line, want string }{
		{`{{ range $i := 3 }}{{ $i }}{{ end }}`, "l", "012"},
		{`{{ range 50 }}{{ range 40 }}{{ end }}{{ end }}ok`, "l", "ok"},
		{`{{ range $k, $v := fromJson __line__ }}{{ $k }}={{ $v }};{{ end }}`, `{"b":2,"a":1}`, "a=1;b=2;"},
		{`{{ define "x" }}<{{ . }}>{{ end }}{{ template "x" "a" }}{{ template "x" "b" }}`, "l", "<a><b>"},
		{`{{ block "y" "c" }}[{{ . }}]{{ end }}`, "l", "[c]"},
		{`{{ printf "%s-%d" "a" 1 }}|{{ print "a" 1 2 "b" }}|{{ println "a" }}|{{ js "<a>" }}|{{ html "<a>" }}|{{ urlquery "a b" }}`, "l", "a-1|a1 2b|a\n|\\u003Ca\\u003E|&lt;a&gt;|a+b"},
		{`{{ printf "%s" }}`, "l", "%!s(MISSING)"},
		{`{{ Replace "aaa" "a" "bb" 2 }}|{{ replace "a" "xyz" "banana" }}|{{ Replace "ab" "" "-" -1 }}`, "l", "bbbba|bxyznxyznxyz|-a-b-"},
		{`{{ regexReplaceAll "(\\w+)=(\\w+)" __line__ "$2" | len }}`, big, "50000"},
		{`{{ regexReplaceAll "k" __line__ "${0}${0}" | len }}`, big, "125000"},
		{`{{ repeat 10 __line__ | len }}`, big, "1000000"},
		{`{{ alignLeft 7 "ab" }}|{{ alignRight 3 "ab" }}|{{ indent 2 "a\nb" }}`, "l", "ab     | ab|  a\n  b"},
	} {
		q := "{app=\"web\"} | line_format `" + c.tmpl + "`"
		got := processOne(t, q, `{app="web"}`, 0, c.line, nil)
		if got.line != c.want || got.parsed != "{}" {
			t.Errorf("%s: got %.80q (labels %s), want %.80q", c.tmpl, got.line, got.parsed, c.want)
		}
	}
}
