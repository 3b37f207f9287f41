package log

import (
	"strings"
	"testing"
)

func TestJSONParser(t *testing.T) {
	const objErr = `__error__="JSONParserErr", __error_details__="Value looks like object, but can't find closing '}' symbol"`
	runCases(t, []stageCase{
		{
			query: `{app="web"} | json`,
			line:  `{"a":"b","n":1.5,"t":true,"f":false,"z":null,"arr":[1,2],"o":{"x":"y","deep":{"k":"v"}}}`,
			want:  kept(`{"a":"b","n":1.5,"t":true,"f":false,"z":null,"arr":[1,2],"o":{"x":"y","deep":{"k":"v"}}}`, `{a="b", f="false", n="1.5", o_deep_k="v", o_x="y", t="true"}`),
		},
		{ // a key named like a stream label gets _extracted
			query: `{app="web"} | json`,
			line:  `{"app":"api","level":"info"}`,
			want:  kept(`{"app":"api","level":"info"}`, `{app_extracted="api", level="info"}`),
		},
		{ // sanitized names
			query: `{app="web"} | json`,
			line:  `{"my-key":"1","2x":"y"," sp ":"z","a.b":"c","é":"u"}`,
			want:  kept(`{"my-key":"1","2x":"y"," sp ":"z","a.b":"c","é":"u"}`, `{_="u", _2x="y", a_b="c", my_key="1", sp="z"}`),
		},
		{ // nested keys are sanitized per segment
			query: `{app="web"} | json`,
			line:  `{"a-b":{"1c":{"d e":"x"}}}`,
			want:  kept(`{"a-b":{"1c":{"d e":"x"}}}`, `{a_b__1c_d_e="x"}`),
		},
		{ // escapes
			query: `{app="web"} | json`,
			line:  `{"msg":"a\"b\\n\u00e9\ud83d\ude00","k\u0065y":"v"}`,
			want:  kept(`{"msg":"a\"b\\n\u00e9\ud83d\ude00","k\u0065y":"v"}`, `{key="v", msg="a\"b\\né😀"}`),
		},
		{ // an invalid escape gives an empty value; bad UTF-8 becomes spaces
			query: `{app="web"} | json`,
			line:  "{\"a\":\"\\uZZZZ\",\"b\":\"x\xffy\",\"c\":\"\"}",
			want:  kept("{\"a\":\"\\uZZZZ\",\"b\":\"x\xffy\",\"c\":\"\"}", `{a="", b="x y", c=""}`),
		},
		{ // duplicate keys: the last wins, also across nesting
			query: `{app="web"} | json`,
			line:  `{"a":"1","a":"2","b":{"c":"3"},"b_c":"4"}`,
			want:  kept(`{"a":"1","a":"2","b":{"c":"3"},"b_c":"4"}`, `{a="2", b_c="4"}`),
		},
		{query: `{app="web"} | json`, line: `{}`, want: kept(`{}`, "")},
		{query: `{app="web"} | json`, line: `  {"a":"b"} trailing`, want: kept(`  {"a":"b"} trailing`, `{a="b"}`)},
		{query: `{app="web"} | json`, line: `hello`, want: kept(`hello`, "{"+objErr+"}")},
		{query: `{app="web"} | json`, line: ``, want: kept(``, "{"+objErr+"}")},
		{query: `{app="web"} | json`, line: `[1]`, want: kept(`[1]`, "{"+objErr+"}")},
		{ // labels read before the fault stay
			query: `{app="web"} | json`,
			line:  `{"a":"b","c":`,
			want:  kept(`{"a":"b","c":`, `{__error__="JSONParserErr", __error_details__="Malformed JSON error", a="b"}`),
		},
		{
			query: `{app="web"} | json`,
			line:  `{"a":1`,
			want:  kept(`{"a":1`, `{__error__="JSONParserErr", __error_details__="Value is array, but can't find closing ']' symbol", a="1"}`),
		},
		{
			query: `{app="web"} | json`,
			line:  `{"a":1,}`,
			want:  kept(`{"a":1,}`, `{__error__="JSONParserErr", __error_details__="Value looks like object, but can't find closing '}' symbol", a="1"}`),
		},
		{
			query: `{app="web"} | json`,
			line:  `{"a":tru}`,
			want:  kept(`{"a":tru}`, `{__error__="JSONParserErr", __error_details__="Unknown value type"}`),
		},
		{
			query: `{app="web"} | json`,
			line:  `{"a":"unterminated}`,
			want:  kept(`{"a":"unterminated}`, `{__error__="JSONParserErr", __error_details__="Value is string, but can't find closing '\"' symbol"}`),
		},
		{
			query: `{app="web"} | json`,
			line:  `{"a":{"b":1}`,
			want:  kept(`{"a":{"b":1}`, `{__error__="JSONParserErr", __error_details__="Value is array, but can't find closing ']' symbol", a_b="1"}`),
		},
		{ // a parsed label replaces structured metadata of the same name
			query: `{app="web"} | json`,
			line:  `{"level":"info"}`,
			sm:    sm("level", "warn", "trace", "t1"),
			want:  result{keep: true, line: `{"level":"info"}`, sm: `{trace="t1"}`, parsed: `{level="info"}`},
		},
	})
}

func TestJSONExpressionParser(t *testing.T) {
	const line = `{"a":{"b":"x"},"list":[1,"two",{"k":"v"}],"obj":{"k":[1,2]},"l":"L","n":null,"esc":"q\"q"}`
	runCases(t, []stageCase{
		{
			query: `{app="web"} | json first="a.b", second="list[1]", third="obj", fourth="missing", l, nested="list[2].k", n="n", e="esc"`,
			line:  line,
			want:  kept(line, `{e="q\"q", first="x", fourth="", l="L", n="", nested="v", second="two", third="{\"k\":[1,2]}"}`),
		},
		{query: `{app="web"} | json x="[\"a.b\"]"`, line: `{"a.b":"v"}`, want: kept(`{"a.b":"v"}`, `{x="v"}`)},
		{query: `{app="web"} | json x="arr"`, line: `{"arr":[1, "a"]}`, want: kept(`{"arr":[1, "a"]}`, `{x="[1, \"a\"]"}`)},
		{query: `{app="web"} | json f="[0]"`, line: `[{"x":1}]`, want: kept(`[{"x":1}]`, `{f="{\"x\":1}"}`)},
		{query: `{app="web"} | json app="a"`, line: `{"a":"x"}`, want: kept(`{"a":"x"}`, `{app_extracted="x"}`)},
		{query: `{app="web"} | json app="b"`, line: `{"a":"x"}`, want: kept(`{"a":"x"}`, "")},
		{query: `{app="web"} | json x="a"`, line: `hello`, want: kept(`hello`, `{__error__="JSONParserErr"}`)},
		{query: `{app="web"} | json x="a"`, line: ``, want: kept(``, "")},
		{ // the first member whose key path matches wins
			query: `{app="web"} | json x="a.b"`,
			line:  `{"a":"s","a":{"c":1},"a":{"b":2},"a":{"b":3}}`,
			want:  kept(`{"a":"s","a":{"c":1},"a":{"b":2},"a":{"b":3}}`, `{x="2"}`),
		},
		{ // a malformed value at the path is an error
			query: `{app="web"} | json x="a"`,
			line:  `{"a":tru, "b":1}`,
			want:  kept(`{"a":tru, "b":1}`, `{__error__="JSONParserErr", __error_details__="Unknown value type", x=""}`),
		},
		{ // a malformed value elsewhere is not
			query: `{app="web"} | json x="b"`,
			line:  `{"a":1, "b":2, "c":tru}`,
			want:  kept(`{"a":1, "b":2, "c":tru}`, `{x="2"}`),
		},
	})
}

func TestJSONPathErrors(t *testing.T) {
	for _, c := range []struct{ expr, err string }{
		{`a.b[0]["c"]`, ""},
		{`[0][1]`, ""},
		{`a[`, `cannot parse expression [a[]: syntax error: unexpected $end`},
		{`a..b`, `cannot parse expression [a..b]: syntax error: unexpected DOT`},
		{`a[1.5]`, `cannot parse expression [a[1.5]]: cannot use float as array index`},
		{`a[1x]`, `cannot parse expression [a[1x]]: non-integer value: x`},
		{`a-b`, `cannot parse expression [a-b]: unexpected char -`},
		{``, `cannot parse expression []: syntax error: unexpected $end`},
	} {
		_, err := parseJSONPath(c.expr)
		got := ""
		if err != nil {
			got = err.Error()
		}
		if got != c.err {
			t.Errorf("%q: got error %q, want %q", c.expr, got, c.err)
		}
	}
}

// TestJSONParserBounds checks that a line cannot make | json build label
// names without bound: a 240 KB line of objects nested 20,000 deep, each
// with a member, made 400 MB of names (4.5 GB allocated, 18 s) because a
// nested member's name repeats every key above it. Objects nested deeper
// than maxJSONDepth, or names whose prefixes add up to more than
// maxJSONPrefixBytes, end the parse with JSONParserErr; the labels read
// before stay.
func TestJSONParserBounds(t *testing.T) {
	nested := func(depth int, member string) string {
		return strings.Repeat(`{`+member+`"b":`, depth) + "1" + strings.Repeat("}", depth)
	}
	longKey := strings.Repeat("k", 2000)
	wide := `{"` + longKey + `":{` + strings.Repeat(`"a":1,`, 600) + `"z":1}}`
	for _, c := range []struct {
		name, line, details string
		labels              int // labels besides the error ones
	}{
		{"deep", nested(20000, `"a":1,`), "json: objects nested deeper than 256", 256},
		{"deep without members", nested(20000, ""), "json: objects nested deeper than 256", 0},
		{"long prefix, many members", wide, "json: nested key names exceed 1048576 bytes", 1},
		{"at the depth limit", nested(256, `"a":1,`), "", 257},
	} {
		t.Run(c.name, func(t *testing.T) {
			got := processOne(t, `{app="web"} | json`, `{app="web"}`, 0, c.line, nil)
			if !got.keep || got.line != c.line {
				t.Fatalf("line not kept")
			}
			wantErr := c.details != ""
			if hasErr := strings.Contains(got.parsed, `__error__="JSONParserErr"`); hasErr != wantErr || wantErr && !strings.Contains(got.parsed, c.details) {
				t.Errorf("parsed labels %.300s", got.parsed)
			}
			n := strings.Count(got.parsed, `="`)
			if wantErr {
				n -= 2
			}
			if n != c.labels {
				t.Errorf("%d labels, want %d", n, c.labels)
			}
		})
	}
}
