package log

import "testing"

func TestLineFilters(t *testing.T) {
	for _, c := range []struct {
		query string
		keep  map[string]bool // line → kept
	}{
		{`{app="web"} |= "err"`, map[string]bool{"an error": true, "ERR": false, "": false}},
		{`{app="web"} |= ""`, map[string]bool{"": true, "x": true}},
		{`{app="web"} != "err"`, map[string]bool{"an error": false, "fine": true}},
		{`{app="web"} |= "a" or "b"`, map[string]bool{"xa": true, "xb": true, "xc": false}},
		{`{app="web"} != "a" or "b"`, map[string]bool{"xa": false, "xb": false, "xc": true}},
		{`{app="web"} |= "a" |= "b"`, map[string]bool{"ab": true, "a": false}},
		{`{app="web"} |~ "err(or)?\\s+\\d+"`, map[string]bool{"error 42": true, "err 1": true, "error x": false}},
		{`{app="web"} |~ "(?i)error"`, map[string]bool{"ERROR": true, "eRrOr x": true, "warn": false}},
		{`{app="web"} |~ "foo|bar"`, map[string]bool{"a foo": true, "bar": true, "baz": false}},
		{`{app="web"} |~ ".*foo.*"`, map[string]bool{"xfoox": true, "fo": false}},
		{`{app="web"} |~ ".*"`, map[string]bool{"": true, "x": true}},
		{`{app="web"} !~ "foo|bar"`, map[string]bool{"a foo": false, "baz": true}},
		{`{app="web"} |~ "(?i)é"`, map[string]bool{"É": true, "e": false}},
		{`{app="web"} |~ "^GET"`, map[string]bool{"GET /": true, "xGET": false}},
		// Pattern filters: whole-line semantics as Loki's.
		{`{app="web"} |> "<_> error <_>"`, map[string]bool{"an error here": true, "error here": false, "an error ": false, "an error": false}},
		{`{app="web"} |> "<_> bar"`, map[string]bool{"foo bar": true, "foo bar baz": false}},
		{`{app="web"} |> "foo <_>"`, map[string]bool{"foo bar": true, "xx foo bar": true, "foo ": false}},
		{`{app="web"} |> "<_>bar<_>"`, map[string]bool{" bar ": true, "bar x": false}},
		{`{app="web"} |> "a<_>b<_>c"`, map[string]bool{"a1b2c": true, "abc": false, "a1b2cx": false}},
		{`{app="web"} |> ""`, map[string]bool{"": true, "x": false}},
		{`{app="web"} !> "<_> error <_>"`, map[string]bool{"an error here": false, "ok": true}},
		{`{app="web"} |> "<_> GET <_>" or "<_> POST <_>"`, map[string]bool{"x GET /": true, "x POST /": true, "x PUT /": false}},
		// ip() filters.
		{`{app="web"} |= ip("192.168.0.0/16")`, map[string]bool{"client 192.168.1.5 connected": true, "10.0.0.1": false, "": false}},
		{`{app="web"} |= ip("192.168.0.1-192.168.0.10")`, map[string]bool{"a=192.168.0.5": true, "a=192.168.0.11": false}},
		{`{app="web"} |= ip("10.0.0.1")`, map[string]bool{"from 10.0.0.1:80": true, "10.0.0.10": false, "10.0.0.1.": false, "010.0.0.1": false}},
		{`{app="web"} |= ip("::1")`, map[string]bool{"addr=::1 x": true, "addr=::2": false}},
		{`{app="web"} |= ip("2001:db8::/32")`, map[string]bool{"src 2001:db8::ff dst": true, "src 2001:db9::1": false}},
		{`{app="web"} != ip("10.0.0.0/8")`, map[string]bool{"ip 10.2.3.4": false, "ip 11.2.3.4": true}},
		{`{app="web"} |= ip("10.0.0.0/8") or "local"`, map[string]bool{"ip 10.2.3.4": true, "local": true, "x": false}},
		{`{app="web"} |= "x" | logfmt |= "y"`, map[string]bool{"x y": true, "x": false, "y": false}},
	} {
		p := compile(t, c.query)
		for line, want := range c.keep {
			sp := p.ForStream(streamOf(t, `{app="web"}`))
			_, _, got := sp.Process(0, []byte(line), nil)
			if got != want {
				t.Errorf("%s on %q: kept %v, want %v", c.query, line, got, want)
			}
		}
	}
}

func TestPatternMatcher(t *testing.T) {
	for _, c := range []struct {
		pattern string
		err     string
	}{
		{"<a>", ""},
		{"foo", "at least one capture is required"},
		{"<_>", "at least one capture is required"},
		{"<a><b>", "found consecutive capture '<a><b>': invalid expression"},
		{"<a> <a>", "duplicate capture name (a): invalid expression"},
		{"<1a> <b>", ""}, // <1a> is literal text
	} {
		_, err := newPatternMatcher(c.pattern)
		got := ""
		if err != nil {
			got = err.Error()
		}
		if got != c.err {
			t.Errorf("%q: error %q, want %q", c.pattern, got, c.err)
		}
	}
	m, err := newPatternMatcher("<1a> <b>")
	if err != nil {
		t.Fatal(err)
	}
	if caps := m.matches([]byte("<1a> x")); len(caps) != 1 || string(caps[0]) != "x" {
		t.Errorf("literal capture-like text: got %q", caps)
	}
	if caps := m.matches([]byte("<1b> x")); caps != nil {
		t.Errorf("mismatched leading literal: got %q", caps)
	}
}
