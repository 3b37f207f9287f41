package log

import "testing"

func TestLabelFilters(t *testing.T) {
	runCases(t, []stageCase{
		{query: `{app="web"} | logfmt | status >= 500`, line: `status=503`, want: kept(`status=503`, `{status="503"}`)},
		{query: `{app="web"} | logfmt | status >= 500`, line: `status=200`, want: dropped},
		{query: `{app="web"} | logfmt | status >= 500`, line: `other=1`, want: dropped},
		{
			query: `{app="web"} | logfmt | status >= 500`,
			line:  `status=abc`,
			want:  kept(`status=abc`, `{__error__="LabelFilterErr", __error_details__="strconv.ParseFloat: parsing \"abc\": invalid syntax", status="abc"}`),
		},
		{query: `{app="web"} | logfmt | status == 200`, line: `status=200.0`, want: kept(`status=200.0`, `{status="200.0"}`)},
		{query: `{app="web"} | logfmt | status != 200`, line: `status=200`, want: dropped},
		{query: `{app="web"} | logfmt | status < 1e3`, line: `status=999`, want: kept(`status=999`, `{status="999"}`)},
		{query: `{app="web"} | logfmt | dur > 1s`, line: `dur=1.5s`, want: kept(`dur=1.5s`, `{dur="1.5s"}`)},
		{query: `{app="web"} | logfmt | dur > 1s`, line: `dur=500ms`, want: dropped},
		{query: `{app="web"} | logfmt | dur <= 1h`, line: `dur=1h`, want: kept(`dur=1h`, `{dur="1h"}`)},
		{
			query: `{app="web"} | logfmt | dur > 1s`,
			line:  `dur=1.5`,
			want:  kept(`dur=1.5`, `{__error__="LabelFilterErr", __error_details__="time: missing unit in duration \"1.5\"", dur="1.5"}`),
		},
		{query: `{app="web"} | logfmt | size > 1KB`, line: `size=2KiB`, want: kept(`size=2KiB`, `{size="2KiB"}`)},
		{query: `{app="web"} | logfmt | size > 1KB`, line: `size=10B`, want: dropped},
		{query: `{app="web"} | logfmt | size == 1.5KB`, line: `size=1.5k`, want: kept(`size=1.5k`, `{size="1.5k"}`)},
		{
			query: `{app="web"} | logfmt | size > 1KB`,
			line:  `size=12XB`,
			want:  kept(`size=12XB`, `{__error__="LabelFilterErr", __error_details__="unhandled size name: xb", size="12XB"}`),
		},
		{query: `{app="web"} | logfmt | addr = ip("10.0.0.0/8")`, line: `addr=10.1.2.3`, want: kept(`addr=10.1.2.3`, `{addr="10.1.2.3"}`)},
		{query: `{app="web"} | logfmt | addr = ip("10.0.0.0/8")`, line: `addr=11.1.2.3`, want: dropped},
		{query: `{app="web"} | logfmt | addr != ip("10.0.0.0/8")`, line: `addr=11.1.2.3`, want: kept(`addr=11.1.2.3`, `{addr="11.1.2.3"}`)},
		{query: `{app="web"} | logfmt | addr = ip("10.0.0.0/8")`, line: `x=1`, want: dropped},
		{query: `{app="web"} | logfmt | level =~ "err.*"`, line: `level=error`, want: kept(`level=error`, `{level="error"}`)},
		{query: `{app="web"} | logfmt | level =~ "err"`, line: `level=error`, want: dropped}, // anchored
		{query: `{app="web"} | logfmt | level != "debug"`, line: `x=1`, want: kept(`x=1`, `{x="1"}`)},
		{query: `{app="web"} | logfmt | level = ""`, line: `x=1`, want: kept(`x=1`, `{x="1"}`)},
		{query: `{app="web"} | logfmt | (level="error" or status >= 500) and app="web"`, line: `level=info status=502`, want: kept(`level=info status=502`, `{level="info", status="502"}`)},
		{query: `{app="web"} | logfmt | level="error" or status >= 500, app="api"`, line: `level=error`, want: kept(`level=error`, `{level="error"}`)},
		{query: `{app="web"} | logfmt | level="error", status >= 500`, line: `level=error status=200`, want: dropped},
		{query: `{app="web"} | json | __error__ = ""`, line: `nope`, want: dropped},
		{query: `{app="web"} | json | __error__ != ""`, line: `nope`, want: kept(`nope`, `{__error__="JSONParserErr", __error_details__="Value looks like object, but can't find closing '}' symbol"}`)},
		{ // an earlier error is kept
			query: `{app="web"} | json | n > 1`,
			line:  `{"n":"x"`,
			want:  kept(`{"n":"x"`, `{__error__="JSONParserErr", __error_details__="Value is array, but can't find closing ']' symbol", n="x"}`),
		},
		{ // ip() filters keep entries that already have an error
			query: `{app="web"} | json | addr = ip("10.0.0.1")`,
			line:  `{"addr":"1.1.1.1"`,
			want:  kept(`{"addr":"1.1.1.1"`, `{__error__="JSONParserErr", __error_details__="Value is array, but can't find closing ']' symbol", addr="1.1.1.1"}`),
		},
		{ // structured metadata and stream labels can be filtered
			query: `{app="web"} | trace = "t1" | app = "web"`,
			line:  `x`,
			sm:    sm("trace", "t1"),
			want:  result{keep: true, line: `x`, sm: `{trace="t1"}`},
		},
		{query: `{app="web"} | trace = "t1"`, line: `x`, sm: sm("trace", "t2"), want: dropped},
	})
}
