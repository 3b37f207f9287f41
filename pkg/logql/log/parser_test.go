package log

import "testing"

func TestLogfmtParser(t *testing.T) {
	const line = `level=info msg="hello world" dur=1.5s empty= flag app=api my-key=1 2x=y`
	const bad = `a=1 =bad b=2 c="unterminated`
	runCases(t, []stageCase{
		{
			query: `{app="web"} | logfmt`,
			line:  line,
			want:  kept(line, `{_2x="y", app_extracted="api", dur="1.5s", level="info", msg="hello world", my_key="1"}`),
		},
		{
			query: `{app="web"} | logfmt --keep-empty`,
			line:  line,
			want:  kept(line, `{_2x="y", app_extracted="api", dur="1.5s", empty="", flag="", level="info", msg="hello world", my_key="1"}`),
		},
		{
			query: `{app="web"} | logfmt`,
			line:  `msg="a\"b\\c\n\u00e9" q="" x=1 x=2`,
			want:  kept(`msg="a\"b\\c\n\u00e9" q="" x=1 x=2`, `{msg="a\"b\\c\né", x="2"}`),
		},
		{ // malformed pairs are skipped
			query: `{app="web"} | logfmt`,
			line:  bad,
			want:  kept(bad, `{a="1", b="2"}`),
		},
		{ // strict stops at the first and reports it
			query: `{app="web"} | logfmt --strict`,
			line:  bad,
			want:  kept(bad, `{__error__="LogfmtParserErr", __error_details__="logfmt syntax error at pos 5 : unexpected '='", a="1"}`),
		},
		{
			query: `{app="web"} | logfmt --strict`,
			line:  `a=1 b="open`,
			want:  kept(`a=1 b="open`, `{__error__="LogfmtParserErr", __error_details__="logfmt syntax error at pos 12 : unterminated quoted value", a="1"}`),
		},
		{
			query: `{app="web"} | logfmt`,
			line:  `a=b"c d=1`,
			want:  kept(`a=b"c d=1`, `{d="1"}`),
		},
		{ // bad UTF-8 in values becomes spaces
			query: `{app="web"} | logfmt`,
			line:  "a=x\xffy",
			want:  kept("a=x\xffy", `{a="x y"}`),
		},
		{
			query: `{app="web"} | logfmt lvl="level", msg, gone="nope"`,
			line:  `level=info msg=hi other=x`,
			want:  kept(`level=info msg=hi other=x`, `{gone="", lvl="info", msg="hi"}`),
		},
		{ // a parameter named like a stream label
			query: `{app="web"} | logfmt app="name"`,
			line:  `name=x`,
			want:  kept(`name=x`, `{app_extracted="x"}`),
		},
		{
			query: `{app="web"} | logfmt --strict a`,
			line:  `a=1 "b`,
			want:  kept(`a=1 "b`, `{__error__="LogfmtParserErr", __error_details__="logfmt syntax error at pos 5 : unexpected '\"'", a="1"}`),
		},
	})
}

func TestRegexpParser(t *testing.T) {
	runCases(t, []stageCase{
		{
			query: `{app="web"} | regexp "(?P<method>\\w+) (?P<path>\\S+)(?: (?P<proto>HTTP/\\d))?"`,
			line:  `GET /x`,
			want:  kept(`GET /x`, `{method="GET", path="/x", proto=""}`),
		},
		{
			query: `{app="web"} | regexp "(?P<method>\\w+) (?P<path>\\S+)"`,
			line:  `!!!`,
			want:  kept(`!!!`, ""),
		},
		{
			query: `{app="web"} | regexp "(?P<app>\\w+)"`,
			line:  `api`,
			want:  kept(`api`, `{app_extracted="api"}`),
		},
	})
}

func TestPatternParser(t *testing.T) {
	const access = `10.1.2.3 - - [17/May/2015:10:05:03 +0000] "GET /presentations/ HTTP/1.1" 200 7697 "-" "Mozilla"`
	runCases(t, []stageCase{
		{
			query: `{app="web"} | pattern "<ip> - - [<_>] \"<method> <path> <_>\" <status> <size> <_>"`,
			line:  access,
			want:  kept(access, `{ip="10.1.2.3", method="GET", path="/presentations/", size="7697", status="200"}`),
		},
		{ // a missing literal ends the match: the capture takes the rest
			query: `{app="web"} | pattern "<a> x <b> y <c>"`,
			line:  `1 x 2`,
			want:  kept(`1 x 2`, `{a="1", b="2"}`),
		},
		{ // a leading literal must start the line
			query: `{app="web"} | pattern "GET <path>"`,
			line:  `POST /x`,
			want:  kept(`POST /x`, ""),
		},
		{
			query: `{app="web"} | pattern "<app> <rest>"`,
			line:  `api is up`,
			want:  kept(`api is up`, `{app_extracted="api", rest="is up"}`),
		},
		{query: `{app="web"} | pattern "<a> <b>"`, line: ``, want: kept(``, "")},
	})
}

func TestUnpackParser(t *testing.T) {
	runCases(t, []stageCase{
		{
			query: `{app="web"} | unpack`,
			line:  `{"_entry":"real \"line\"","pod":"p1","n":1,"app":"x","my-k":"v"}`,
			want:  kept(`real "line"`, `{app_extracted="x", my_k="v", pod="p1"}`),
		},
		{ // without _entry nothing changes
			query: `{app="web"} | unpack`,
			line:  `{"pod":"p1"}`,
			want:  kept(`{"pod":"p1"}`, ""),
		},
		{
			query: `{app="web"} | unpack`,
			line:  `x`,
			want:  kept(`x`, `{__error__="JSONParserErr", __error_details__="expecting json object(6), but it is not"}`),
		},
		{
			query: `{app="web"} | unpack`,
			line:  `{"_entry":"x","a":`,
			want:  kept(`{"_entry":"x","a":`, `{__error__="JSONParserErr", __error_details__="Malformed JSON error"}`),
		},
		{ // unpack then parse the unpacked line
			query: `{app="web"} | unpack | logfmt`,
			line:  `{"_entry":"level=warn","pod":"p1"}`,
			want:  kept(`level=warn`, `{level="warn", pod="p1"}`),
		},
	})
}
