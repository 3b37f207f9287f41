package syntax

import (
	"testing"
)

const emptyCompatible = `parse error : queries require at least one regexp or equality matcher that does not have an empty-compatible value. For instance, app=~".*" does not meet this requirement, but app=~".+" will`

// invalidCases are queries Loki refuses, with its message. Most messages are
// Loki's own (from a real Loki 3.7 and Loki's tests); the rest follow from
// its grammar and checks.
var invalidCases = []struct{ in, want string }{
	// Syntax errors, with Loki's positions.
	{``, `parse error : syntax error: unexpected $end`},
	{`{job="smoke"`, `parse error at line 1, col 13: syntax error: unexpected $end, expecting } or ,`},
	{`foo`, `parse error at line 1, col 1: syntax error: unexpected IDENTIFIER`},
	{`unk({ foo = "bar" }[5m])`, `parse error at line 1, col 1: syntax error: unexpected IDENTIFIER`},
	{`{foo="bar"} "foo"`, `parse error at line 1, col 13: syntax error: unexpected STRING`},
	{`{foo="bar"} foo`, `parse error at line 1, col 13: syntax error: unexpected IDENTIFIER`},
	{`{foo="bar"} |~`, `parse error at line 1, col 15: syntax error: unexpected $end, expecting STRING or ip`},
	{`{foo="bar"} |= "x" or`, `parse error at line 1, col 22: syntax error: unexpected $end, expecting STRING or ip`},
	{`{a="b", }`, `parse error at line 1, col 9: syntax error: unexpected }, expecting IDENTIFIER`},
	{`{a}`, `parse error at line 1, col 3: syntax error: unexpected }, expecting = or =~ or !~ or !=`},
	{`{a=b}`, `parse error at line 1, col 4: syntax error: unexpected IDENTIFIER, expecting STRING`},
	{`'a'`, `parse error at line 1, col 1: syntax error: unexpected IDENTIFIER`},
	{`#{app="foo"} | json`, `parse error at line 1, col 20: syntax error: unexpected $end`},
	{`min({ foo = "bar" }[5m])`, `parse error at line 0, col 20: syntax error: unexpected RANGE`},
	{`{a="b"}[5m]`, `parse error at line 0, col 8: syntax error: unexpected RANGE`},
	{`{ foo = "bar" }|logfmt|addr>=ip("1.2.3.4")`, `parse error at line 1, col 30: syntax error: unexpected ip`},
	{`{ foo = "bar" }|logfmt|addr>ip("1.2.3.4")`, `parse error at line 1, col 29: syntax error: unexpected ip`},
	{`{a="b"} |= |= "x"`, `parse error at line 0, col 12: syntax error: unexpected |=, expecting STRING or ip`},
	{`bottomk(he,count_over_time({ foo = "bar" }[5h]))`, `parse error at line 1, col 9: syntax error: unexpected IDENTIFIER`},
	{`stddev({ foo = "bar" })`, `parse error at line 1, col 23: syntax error: unexpected )`},
	{`label_replace({a="b"}, "a", "b", "c", "d")`, `parse error at line 1, col 22: syntax error: unexpected ,`},
	{`label_replace(rate({ foo = "bar" }[5m]),"")`, `parse error at line 1, col 43: syntax error: unexpected ), expecting ,`},
	{`bool 1 > 1 > bool 1`, `parse error at line 1, col 1: syntax error: unexpected bool`},
	{`-sum(rate({a="b"}[1m]))`, `parse error at line 1, col 2: syntax error: unexpected SUM, expecting NUMBER`},
	{`vector(abc)`, `parse error at line 1, col 8: syntax error: unexpected IDENTIFIER, expecting NUMBER`},
	{`quantile_over_time(foo,{namespace="tns"} | unwrap latency [5m])`, `parse error at line 1, col 20: syntax error: unexpected IDENTIFIER, expecting NUMBER or { or (`},
	{`count without (rate({namespace="apps"}[15s]))`, `parse error at line 1, col 16: syntax error: unexpected RATE, expecting IDENTIFIER or )`},
	{`sum by (a,) (rate({a="b"}[1m]))`, `parse error at line 1, col 11: syntax error: unexpected ), expecting IDENTIFIER`},
	{`sum(rate({a="b"}[5m])) by (a) by (b)`, `parse error at line 1, col 31: syntax error: unexpected by`},
	{`max_over_time(sum(rate({app="a"}[1m]))[30m:5m])`, `parse error at line 1, col 15: syntax error: unexpected SUM, expecting NUMBER or { or (`},
	{`quantile_over_time(0.5, rate({app="a"}[1m])[30m:5m])`, `parse error at line 1, col 25: syntax error: unexpected RATE, expecting { or (`},
	{`max_over_time((rate({app="a"}[1m]))[30m:5m])`, `parse error at line 1, col 16: syntax error: unexpected RATE, expecting { or (`},
	{`max_over_time(label_replace(rate({app="a"}[1m]),"a","b","c","d")[30m:5m])`, `parse error at line 1, col 15: syntax error: unexpected label_replace, expecting NUMBER or { or (`},
	{`count_over_time({a="b"})`, `parse error at line 1, col 24: syntax error: unexpected )`},
	{`rate({a="b"} | unwrap x)`, `parse error at line 1, col 24: syntax error: unexpected ), expecting RANGE or |`},
	{`rate({a="b"}[5m] offset)`, `parse error at line 1, col 24: syntax error: unexpected ), expecting DURATION`},
	{`{foo="bar"} | unwrap x`, `parse error at line 1, col 15: syntax error: unexpected unwrap`},
	{`count_over_time({a="b"} | unwrap x | json [5m])`, `parse error at line 1, col 38: syntax error: unexpected json, expecting IDENTIFIER or (`},
	{`{a="b"} | level = "x" or`, `parse error at line 1, col 25: syntax error: unexpected $end, expecting IDENTIFIER or (`},
	{`{app="a"} | label_format x="a",`, `parse error at line 1, col 32: syntax error: unexpected $end, expecting IDENTIFIER`},
	{`{app="a"} | label_format x`, `parse error at line 1, col 27: syntax error: unexpected $end, expecting =`},
	{`{app="a"} | json foo=`, `parse error at line 1, col 22: syntax error: unexpected $end, expecting STRING`},
	{"{a=\"b\"}\n| json\n| x ~ \"y\"", `parse error at line 3, col 5: syntax error: unexpected IDENTIFIER`},

	// Lexical errors.
	{`{foo="bar}`, `parse error at line 1, col 6: literal not terminated`},
	{"{foo=`bar}", `parse error at line 1, col 6: literal not terminated`},
	{"{app=~\"\xa0\xa1\"}", `parse error at line 1, col 7: invalid UTF-8 encoding`},
	{`{a="b\q"}`, `parse error at line 1, col 4: invalid char escape`},
	{`rate({ foo = "bar" }[5minutes])`, `parse error at line 0, col 21: unknown unit "minutes" in duration "5minutes"`},
	{`count_over_time({app="a"}[30m:5m])`, `parse error at line 0, col 26: unknown unit "m:" in duration "30m:5m"`},
	{`rate({ foo = "bar" }[5)`, `parse error at line 0, col 21: missing closing ']' in duration`},
	{`{a="b"} | x > 0B`, `parse error at line 1, col 15: binary literal has no digits`},
	{`1e`, `parse error at line 1, col 1: exponent has no digits`},

	// Errors Loki finds after parsing.
	{`{}`, emptyCompatible},
	{`{job=~".*"}`, emptyCompatible},
	{`{app=""}`, emptyCompatible},
	{`{app!~"x"}`, emptyCompatible},
	{`{app=~"a|"}`, emptyCompatible},
	{`{foo!="bar"} |= "x"`, emptyCompatible},
	{`count_over_time({foo!="bar"}[5m])`, emptyCompatible},
	{`1 + count_over_time({app=~".+"}[5m]) + count_over_time({app=~".*"}[5m])`, emptyCompatible},
	{`vector(1) + count_over_time({app=~".*"}[5m])`, emptyCompatible},
	{`{foo=~"("}`, "parse error : error parsing regexp: missing closing ): `(`"},
	{`absent_over_time({ foo = "bar" }[5h]) by (foo)`, `parse error : grouping not allowed for absent_over_time aggregation`},
	{`approx_topk(2, count_over_time({ foo = "bar" }[5h])) by (foo)`, `parse error : grouping not allowed for approx_topk aggregation`},
	{`sum_over_time({namespace="tns"} | unwrap latency [5m]) by (foo)`, `parse error : grouping not allowed for sum_over_time aggregation`},
	{`rate({namespace="tns"}[5m]) by (foo)`, `parse error : grouping not allowed for rate aggregation`},
	{`sum_over_time({app="foo"} |= "bar" | json [5m])`, `parse error : invalid aggregation sum_over_time without unwrap`},
	{`rate_counter({a="b"}[5m])`, `parse error : invalid aggregation rate_counter without unwrap`},
	{`count_over_time({app="foo"} |= "foo" | json | unwrap foo [5m])`, `parse error : invalid aggregation count_over_time with unwrap`},
	{`bytes_rate({a="b"} | unwrap x [5m])`, `parse error : invalid aggregation bytes_rate with unwrap`},
	{`sum_over_time(50,{namespace="tns"} | unwrap latency [5m])`, `parse error : parameter 50 not supported for operation sum_over_time`},
	{`quantile_over_time({namespace="tns"} | unwrap latency [5m])`, `parse error : parameter required for operation quantile_over_time`},
	{`sum(3 ,count_over_time({ foo = "bar" }[5h]))`, `parse error : unsupported parameter for operation sum(3,`},
	{`topk(count_over_time({ foo = "bar" }[5h]))`, `parse error : parameter required for operation topk`},
	{`bottomk(1.2,count_over_time({ foo = "bar" }[5h]))`, `parse error : invalid parameter bottomk(1.2,`},
	{`topk(0, count_over_time({app="a"}[5m]))`, `parse error : invalid parameter (must be greater than 0) topk(0`},
	{`topk by (pod) (0, count_over_time({app="a"}[5m]))`, `parse error : invalid parameter (must be greater than 0) topk(0`},
	{`topk(00, count_over_time({app="a"}[5m]))`, `parse error : invalid parameter (must be greater than 0) topk(00`},
	{`sort(count_over_time({a="b"}[5m])) by (a)`, `parse error : sort and sort_desc doesn't allow grouping by `},
	{`label_replace(rate({ foo = "bar" }[5m]),"foo","$1","bar","^^^^x43\\q")`, "parse error : invalid regex in label_replace: error parsing regexp: invalid escape sequence: `\\q`"},
	{`{foo="bar"} + {foo="bar"}`, `parse error : unexpected type for left leg of binary operation (+): *syntax.MatchersExpr`},
	{`sum(count_over_time({foo="bar"}[5m])) by (foo) - {foo="bar"}`, `parse error : unexpected type for right leg of binary operation (-): *syntax.MatchersExpr`},
	{`{foo="bar"} | json / sum(count_over_time({foo="bar"}[5m]))`, `parse error : unexpected type for left leg of binary operation (/): *syntax.PipelineExpr`},
	{`count_over_time({ foo = "bar" }[12m]) > { foo = "bar" }`, `parse error : unexpected type for right leg of binary operation (>): *syntax.MatchersExpr`},
	{`sum(count_over_time({foo="bar"}[5m])) by (foo) or 1`, `parse error : unexpected literal for right leg of logical/set binary operation (or): 1.000000`},
	{`1 unless sum(count_over_time({foo="bar"}[5m])) by (foo)`, `parse error : unexpected literal for left leg of logical/set binary operation (unless): 1.000000`},
	{`sum(count_over_time({foo="bar"}[5m])) by (foo) + 1 or 1`, `parse error : unexpected literal for right leg of logical/set binary operation (or): 1.000000`},
	{`(1 + 1) and vector(1)`, `parse error : unexpected literal for left leg of logical/set binary operation (and): 2.000000`},

	// Parsers and stages.
	{`{app="a"} | regexp "(["`, "parse error : invalid regexp parser: error parsing regexp: missing closing ]: `[`"},
	{`{app="a"} | regexp "abc"`, `parse error : invalid regexp parser: at least one named capture must be supplied`},
	{`{app="a"} | regexp "(x)"`, `parse error : invalid regexp parser: at least one named capture must be supplied`},
	{`{app="a"} | regexp "(?P<a>x)(?P<a>y)"`, `parse error : invalid regexp parser: duplicate extracted label name 'a'`},
	{`{app="a"} | pattern "<_><_>"`, `parse error : invalid pattern parser: at least one capture is required`},
	{`{app="a"} | pattern "abc"`, `parse error : invalid pattern parser: at least one capture is required`},
	{`{app="a"} | pattern "<a> <a>"`, `parse error : invalid pattern parser: duplicate capture name (a): invalid expression`},
	{`{app="a"} | pattern "<a><b>"`, `parse error : invalid pattern parser: found consecutive capture '<a><b>': invalid expression`},
	{`{app="a"} | pattern ""`, `parse error : invalid pattern parser: parse error at line 1, col 1: syntax error: unexpected $end, expecting IDENTIFIER or LITERAL`},
	{`{app="a"} | label_format x="a", x="b"`, `parse error : stage '| label_format x="a",x="b"' : multiple label name 'x' not allowed in a single format operation`},
	{`{app="a"} | label_format __error__="a"`, `parse error : stage '| label_format __error__="a"' : __error__ cannot be formatted`},
	{`{app="a"} |~ "("`, "parse error : stage '|~ \"(\"' : error parsing regexp: missing closing ): `(`"},
	{`{app="a"} |~ ip("1.2.3.4")`, `parse error : stage '|~ ip("1.2.3.4")' : ip: invalid operation`},
	{`{app="a"} |= ip("1.2.3")`, `parse error : stage '|= ip("1.2.3")' : ip: invalid pattern`},
	{`{app="a"} | addr = ip("10.0.0.9-10.0.0.1")`, `parse error : stage '| addr=ip("10.0.0.9-10.0.0.1")' : ip: invalid pattern`},
	{`{app=""} | label_format x="a", x="b"`, emptyCompatible},
}

func TestParseInvalid(t *testing.T) {
	if len(invalidCases) < 40 {
		t.Fatalf("only %d invalid cases", len(invalidCases))
	}
	for _, tc := range invalidCases {
		t.Run(tc.in, func(t *testing.T) {
			expr, err := ParseExpr(tc.in)
			if err == nil {
				t.Fatalf("ParseExpr(%q) = %s, want error %q", tc.in, expr, tc.want)
			}
			if err.Error() != tc.want {
				t.Fatalf("ParseExpr(%q)\n got: %s\nwant: %s", tc.in, err, tc.want)
			}
		})
	}
}

func TestParseKinds(t *testing.T) {
	// ParseLogSelector checks the kind before the selector rule, and only
	// applies that rule when asked.
	if _, err := ParseLogSelector(`count_over_time({a="b"}[1m])`, true); err != ErrNotLogSelector {
		t.Errorf("metric query as log selector: %v", err)
	}
	if _, err := ParseLogSelector(`{a=""} |= "x"`, false); err != nil {
		t.Errorf("unvalidated log selector: %v", err)
	}
	if _, err := ParseLogSelector(`{a=""} |= "x"`, true); err == nil || err.Error() != emptyCompatible {
		t.Errorf("validated log selector: %v", err)
	}
	sel, err := ParseLogSelector(`{a="b"} | json`, true)
	if err != nil || sel.String() != `{a="b"} | json` {
		t.Errorf("log selector: %v %v", sel, err)
	}

	if _, err := ParseSampleExpr(`{a="b"}`); err != ErrNotSampleExpr {
		t.Errorf("log query as sample expr: %v", err)
	}
	if s, err := ParseSampleExpr(`1 + 1`); err != nil || s.String() != "1 + 1" {
		t.Errorf("scalar sample expr: %v %v", s, err)
	}

	ms, err := ParseMatchers(`{a="b", c=~"d.*"}`, true)
	if err != nil || len(ms) != 2 || ms[0].Name != "a" || ms[1].Value != "d.*" || !ms[1].Matches("dx") || ms[1].Matches("xd") {
		t.Errorf("matchers: %v %v", ms, err)
	}
	if _, err := ParseMatchers(`{a="b"} |= "x"`, true); err != ErrNotMatchers {
		t.Errorf("pipeline as matchers: %v", err)
	}
	if ms, err := ParseMatchers(`{}`, false); err != nil || len(ms) != 0 {
		t.Errorf("empty unvalidated matchers: %v %v", ms, err)
	}
	if _, err := ParseMatchers(`{}`, true); err == nil || err.Error() != emptyCompatible {
		t.Errorf("empty validated matchers: %v", err)
	}
	if _, err := ParseMatchers(`foo`, false); err == nil || err.Error() != "parse error at line 1, col 1: syntax error: unexpected IDENTIFIER" {
		t.Errorf("bad matchers: %v", err)
	}
	// Loki validates every selector before it looks at the kind.
	if _, err := ParseMatchers(`count_over_time({app=""}[5m])`, true); err == nil || err.Error() != emptyCompatible {
		t.Errorf("validated metric query as matchers: %v", err)
	}
}
