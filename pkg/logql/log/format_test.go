package log

import (
	"strings"
	"testing"

	"github.com/skald-logs/skald/pkg/logql/syntax"
)

func TestLineFormat(t *testing.T) {
	runCases(t, []stageCase{
		{query: `{app="web"} | logfmt | line_format "{{.level}}: {{.msg}}"`, line: `level=info msg=hi`, want: kept(`info: hi`, `{level="info", msg="hi"}`)},
		{query: `{app="web"} | line_format "{{.msg}}"`, line: `x`, want: kept(``, "")},
		{query: `{app="web"} | line_format "{{.app}}"`, line: `x`, want: kept(`web`, "")},
		{query: `{app="web"} | line_format "{{.trace}}"`, line: `x`, sm: sm("trace", "t1"), want: result{keep: true, line: `t1`, sm: `{trace="t1"}`}},
		{query: `{app="web"} | line_format "{{__line__ | upper}}!"`, line: `abc`, want: kept(`ABC!`, "")},
		{query: "{app=\"web\"} | line_format `{{ __timestamp__ | unixEpochMillis }} {{ __timestamp__ | unixEpochNanos }} {{ __timestamp__ | unixEpoch }}`", line: `x`, want: kept(`1700000000123 1700000000123456789 1700000000`, "")},
		{query: `{app="web"} | line_format "[{{.nope}}]"`, line: `x`, want: kept(`[]`, "")},
		{
			query: `{app="web"} | line_format "{{div 1 0}}"`,
			line:  `x`,
			want:  kept(`x`, `{__error__="TemplateFormatErr", __error_details__="template: line:1:2: executing \"line\" at <div 1 0>: error calling div: runtime error: integer divide by zero"}`),
		},
		{ // the general path sees the error labels; the {{.name}} shortcut does not
			query: `{app="web"} | json | line_format "{{.__error__}}|{{.a}}"`,
			line:  `{"a":"b"`,
			want:  kept(`JSONParserErr|b`, `{__error__="JSONParserErr", __error_details__="Value is array, but can't find closing ']' symbol", a="b"}`),
		},
		{
			query: `{app="web"} | json | line_format "{{.__error__}}"`,
			line:  `{"a":"b"`,
			want:  kept(``, `{__error__="JSONParserErr", __error_details__="Value is array, but can't find closing ']' symbol", a="b"}`),
		},
		{ // a template over every label
			query: `{app="web"} | logfmt | line_format "{{range $k, $v := .}}{{$k}}={{$v}};{{end}}"`,
			line:  `b=2 a=1`,
			want:  kept(`a=1;app=web;b=2;`, `{a="1", b="2"}`),
		},
		{ // line filters after line_format see the new line
			query: `{app="web"} | logfmt | line_format "{{.msg}}" |= "hello"`,
			line:  `msg="hello world" x=hello`,
			want:  kept(`hello world`, `{msg="hello world", x="hello"}`),
		},
		{query: `{app="web"} | logfmt | line_format "{{.msg}}" |= "x=hello"`, line: `msg="hello world" x=hello`, want: dropped},
		{ // parsers after line_format read the new line
			query: `{app="web"} | json | line_format "{{.inner}}" | logfmt`,
			line:  `{"inner":"k=v"}`,
			want:  kept(`k=v`, `{inner="k=v", k="v"}`),
		},
	})
}

func TestTemplateFunctions(t *testing.T) {
	for _, c := range []struct{ tmpl, want string }{
		{`{{ "HeLLo" | lower }} {{ upper "hello" }} {{ title "hello world" }}`, `hello HELLO Hello World`},
		{`{{ ToLower "AB" }}{{ ToUpper "cd" }}{{ Replace "aaa" "a" "b" 2 }}{{ TrimSpace "  x " }}{{ Trim "xxyxx" "x" }}`, `abCDbbaxy`},
		{`{{ TrimLeft "aab" "a" }}{{ TrimRight "baa" "a" }}{{ TrimPrefix "pre-x" "pre-" }}{{ TrimSuffix "x-suf" "-suf" }}`, `bbxx`},
		{`{{ trunc 5 "hello world" }}|{{ trunc -5 "hello world" }}|{{ trunc 2 "héllo" }}|{{ trunc 50 "ab" }}`, `hello|world|hé|ab`},
		{`{{ substr 0 5 "hello world" }}|{{ substr 6 11 "hello world" }}|{{ substr -1 2 "hello" }}|{{ substr 3 -1 "hello" }}|{{ substr 4 2 "hello" }}|{{ substr 2 99 "hello" }}`, `hello|world|he|lo||llo`},
		{`{{ replace "hello" "world" "hello world" }}|{{ trim "  x  " }}|{{ trimAll "$" "$5.00$" }}|{{ trimSuffix "-" "a-" }}|{{ trimPrefix "-" "-a" }}`, `world world|x|5.00|a|a`},
		{`[{{ alignLeft 5 "hello world" }}][{{ alignLeft 5 "hi" }}][{{ alignRight 5 "hello world" }}][{{ alignRight 5 "hi" }}]`, `[hello][hi   ][world][   hi]`},
		{`{{ indent 2 "a\nb" }}|{{ nindent 2 "a" }}|{{ repeat 3 "ab" }}`, "  a\n  b|\n  a|ababab"},
		{`{{ if contains "he" "hello" }}y{{end}}{{ if hasPrefix "he" "hello" }}y{{end}}{{ if hasSuffix "lo" "hello" }}y{{end}}{{ if eq "a" "a" }}y{{end}}`, `yyyy`},
		{`{{ add 3 2 5 }} {{ sub 5 2 }} {{ mul 5 2 3 }} {{ div 10 3 }} {{ mod 10 3 }} {{ add "3" "0x10" "2.0" "x" }}`, `10 3 30 3 1 21`},
		{`{{ addf 3.5 2 5 }} {{ subf 5.5 2 1.5 }} {{ mulf 5.5 2 2.5 }} {{ divf 10 2 4 }} {{ addf 0.1 0.2 }} {{ divf 1 3 }}`, `10.5 2 27.5 1.25 0.3 0.3333333333333333`},
		{`{{ max 1 3 2 }} {{ min 3 1 2 }} {{ maxf 1 2.5 }} {{ minf 1.5 2 }} {{ ceil 1.2 }} {{ floor 1.8 }}`, `3 1 2.5 1.5 2 1`},
		{`{{ round 123.555555 3 }} {{ round 123.88571428571 5 .2 }} {{ "3" | int }} {{ "3.5" | float64 }}`, `123.556 123.88572 3 3.5`},
		{`{{ default "-" "" }} {{ default "-" "foo" }} {{ "" | default "d" }}`, `- foo d`},
		{`{{ count "a|b" "abab" }} {{ count "o" "foo" }} {{ regexReplaceAll "(a*)bc" "aabc" "${1}x" }} {{ regexReplaceAllLiteral "(ts=)" "ts=1" "$1" }}`, `4 2 aax $11`},
		{`{{ urlencode "a b&c" }} {{ urldecode "a%20b" }} {{ b64enc "hi" }} {{ b64dec "aGk=" }} {{ b64dec "!" }}`, `a+b%26c a b aGk= hi illegal base64 data at input byte 0`},
		{`{{ bytes "1KiB" }} {{ duration "1m30s" }} {{ duration_seconds "500ms" }}`, `1024 90 0.5`},
		{`{{ toDateInZone "2006-01-02" "UTC" "2021-11-02" | unixEpoch }} {{ (unixToTime "1679577215").UTC.Year }} {{ unixToTime "19373" | unixEpoch }}`, `1635811200 2023 1673827200`},
		{`{{ date "2006-01-02" (toDateInZone "2006-01-02" "UTC" "2021-11-02") }}`, `2021-11-02`},
		{`{{ range $q := fromJson "[{\"q\":1},{\"q\":2}]" }}{{ $q.q }};{{ end }}`, `1;2;`},
		{`{{ printf "%05d" 42 }}`, `00042`},
	} {
		c := c
		tmpl := "{app=\"web\"} | line_format `" + c.tmpl + "`"
		got := processOne(t, tmpl, `{app="web"}`, 0, "line", nil)
		if got.line != c.want || got.parsed != "{}" {
			t.Errorf("%s\n got %q %s\nwant %q", c.tmpl, got.line, got.parsed, c.want)
		}
	}
}

func TestTemplateErrors(t *testing.T) {
	for _, c := range []struct{ query, err string }{
		{`{app="web"} | line_format "{{.a"`, `parse error : stage '| line_format "{{.a"' : invalid line template: template: line:1: unclosed action`},
		{`{app="web"} | line_format "{{nope 1}}"`, `parse error : stage '| line_format "{{nope 1}}"' : invalid line template: template: line:1: function "nope" not defined`},
		{`{app="web"} | label_format x="{{.a"`, `parse error : stage '| label_format x="{{.a"' : invalid template for label 'x': template: label:1: unclosed action`},
		{`{app="web"} | json x="a["`, `parse error : stage '| json x="a["' : cannot parse expression [a[]: syntax error: unexpected $end`},
		{`{app="web"} | logfmt x="a.b"`, `parse error : stage '| logfmt x="a.b"' : cannot parse expression [a.b]: unexpected char .`},
		{`{app="web"} |> "<a> b"`, `parse error : stage '|> "<a> b"' : named captures are not allowed: found '<a>'`},
		{`{app="web"} | json |> "<_><_>"`, `parse error : stage '|> "<_><_>"' : found consecutive capture '<_><_>': invalid expression`},
	} {
		expr, err := parseQuery(c.query)
		if err != nil {
			t.Fatalf("%s: %v", c.query, err)
		}
		_, err = NewPipeline(expr, testHash)
		if err == nil || err.Error() != c.err {
			t.Errorf("%s\n got %v\nwant %s", c.query, err, c.err)
		}
	}
}

func TestLabelFormat(t *testing.T) {
	runCases(t, []stageCase{
		{ // renaming a stream label moves it to parsed
			query: `{app="web"} | label_format application=app`,
			line:  `x`,
			want:  result{keep: true, line: `x`, stream: `{}`, parsed: `{application="web"}`},
		},
		{query: `{app="web"} | logfmt | label_format lvl=level`, line: `level=info`, want: kept(`level=info`, `{lvl="info"}`)},
		{query: `{app="web"} | label_format a=missing`, line: `x`, want: kept(`x`, "")},
		{ // templates keep their sources
			query: `{app="web"} | label_format x="{{.app}}-{{__line__}}"`,
			line:  `l`,
			want:  kept(`l`, `{x="web-l"}`),
		},
		{ // setting a stream label's name hides it
			query:  `{app="web", env="prod"} | label_format app="new"`,
			stream: `{app="web", env="prod"}`,
			line:   `x`,
			want:   result{keep: true, line: `x`, stream: `{env="prod"}`, parsed: `{app="new"}`},
		},
		{query: `{app="web"} | label_format foo=""`, line: `x`, want: kept(`x`, `{foo=""}`)},
		{
			query: `{app="web"} | label_format x="{{div 1 0}}"`,
			line:  `x`,
			want:  kept(`x`, `{__error__="TemplateFormatErr", __error_details__="template: label:1:2: executing \"label\" at <div 1 0>: error calling div: runtime error: integer divide by zero"}`),
		},
		{ // templates of one stage see the labels as they were before it
			query: `{app="web"} | label_format a="1", b="{{.a}}" | label_format c="{{.a}}"`,
			line:  `x`,
			want:  kept(`x`, `{a="1", b="", c="1"}`),
		},
		{ // a structured-metadata field renamed becomes parsed
			query: `{app="web"} | label_format t=trace`,
			line:  `x`,
			sm:    sm("trace", "abc", "other", "o"),
			want:  result{keep: true, line: `x`, sm: `{other="o"}`, parsed: `{t="abc"}`},
		},
		{ // and one set by a template replaces the field
			query: `{app="web"} | label_format trace="{{.trace | upper}}"`,
			line:  `x`,
			sm:    sm("trace", "abc"),
			want:  kept(`x`, `{trace="ABC"}`),
		},
		{query: `{app="web"} | label_format app=app`, line: `x`, want: result{keep: true, line: `x`, stream: `{}`}},
	})
}

func TestDecolorize(t *testing.T) {
	runCases(t, []stageCase{
		{query: `{app="web"} | decolorize`, line: "\x1b[31mred\x1b[0m text \x1b[1;32mok\x1b[m", want: kept(`red text ok`, "")},
		{query: `{app="web"} | decolorize`, line: "plain", want: kept(`plain`, "")},
		{query: `{app="web"} | decolorize`, line: "a\u009b31mb\x1b]0;title\x07c", want: kept(`abc`, "")},
		{query: `{app="web"} | decolorize |= "red text"`, line: "\x1b[31mred\x1b[0m text", want: kept(`red text`, "")},
	})
}

func TestDropKeep(t *testing.T) {
	const bad = `{"a":"b"`
	const errs = `__error__="JSONParserErr", __error_details__="Value is array, but can't find closing ']' symbol"`
	runCases(t, []stageCase{
		{query: `{app="web"} | logfmt | drop level`, line: `level=info x=1`, want: kept(`level=info x=1`, `{x="1"}`)},
		{query: `{app="web"} | logfmt | drop level="info"`, line: `level=info x=1`, want: kept(`level=info x=1`, `{x="1"}`)},
		{query: `{app="web"} | logfmt | drop level="info"`, line: `level=warn x=1`, want: kept(`level=warn x=1`, `{level="warn", x="1"}`)},
		{query: `{app="web"} | logfmt | drop level=~"i.*", x`, line: `level=info x=1 y=2`, want: kept(`level=info x=1 y=2`, `{y="2"}`)},
		{query: `{app="web", env="prod"} | drop app`, stream: `{app="web", env="prod"}`, line: `x`, want: result{keep: true, line: `x`, stream: `{env="prod"}`}},
		{query: `{app="web"} | drop trace`, line: `x`, sm: sm("trace", "t", "u", "v"), want: result{keep: true, line: `x`, sm: `{u="v"}`}},
		{query: `{app="web"} | json | drop __error__, __error_details__`, line: bad, want: kept(bad, `{a="b"}`)},
		{query: `{app="web"} | json | drop __error__="JSONParserErr"`, line: bad, want: kept(bad, `{__error_details__="Value is array, but can't find closing ']' symbol", a="b"}`)},
		{query: `{app="web"} | logfmt | keep level`, line: `level=info x=1`, want: result{keep: true, line: `level=info x=1`, stream: `{}`, parsed: `{level="info"}`}},
		{query: `{app="web"} | logfmt | keep level="info", app`, line: `level=debug x=1`, want: result{keep: true, line: `level=debug x=1`}},
		{query: `{app="web"} | json | keep a`, line: bad, want: result{keep: true, line: bad, stream: `{}`, parsed: "{" + errs + `, a="b"}`}},
		{query: `{app="web"} | keep trace`, line: `x`, sm: sm("trace", "t", "u", "v"), want: result{keep: true, line: `x`, stream: `{}`, sm: `{trace="t"}`}},
		{ // a label dropped and parsed again comes back as parsed
			query: `{app="web"} | logfmt | drop level | line_format "level=again" | logfmt`,
			line:  `level=info`,
			want:  kept(`level=again`, `{level="again"}`),
		},
	})
}

func TestLabelCategories(t *testing.T) {
	runCases(t, []stageCase{
		{ // structured metadata: sorted, renamed when it clashes with a stream label
			query: `{app="web"}`,
			line:  `x`,
			sm:    sm("z", "1", "app", "2", "a", "3"),
			want:  result{keep: true, line: `x`, sm: `{a="3", app_extracted="2", z="1"}`},
		},
		{ // a parser key that clashes with a stream label is suffixed even after the label is dropped
			query: `{app="web"} | drop app | logfmt`,
			line:  `app=x`,
			want:  result{keep: true, line: `app=x`, stream: `{}`, parsed: `{app_extracted="x"}`},
		},
		{ // a later parser overwrites a parsed label (no suffix)
			query: `{app="web"} | logfmt | line_format "level=second" | logfmt`,
			line:  `level=first`,
			want:  kept(`level=second`, `{level="second"}`),
		},
		{ // metadata names are normalized
			query: `{app="web"}`,
			line:  `x`,
			sm:    sm("k.8s-name", "v", "1st", "w"),
			want:  result{keep: true, line: `x`, sm: `{k_8s_name="v", key_1st="w"}`},
		},
	})
}

// parseQuery parses without compiling the pipeline.
func parseQuery(q string) (syntax.LogSelectorExpr, error) { return parseSelector(q) }

func TestLineFormatLongTemplate(t *testing.T) {
	long := strings.Repeat("{{.a}}", 50)
	got := processOne(t, `{app="web"} | logfmt | line_format "`+long+`"`, `{app="web"}`, 0, `a=x`, nil)
	if got.line != strings.Repeat("x", 50) {
		t.Errorf("got %q", got.line)
	}
}
