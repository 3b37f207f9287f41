package syntax

import (
	"fmt"
	"math"
	"strings"
	"testing"
)

func TestWalkOrder(t *testing.T) {
	expr, err := ParseExpr(`sum(rate({a="b"} |= "x" | json | unwrap v [5m])) / label_replace(count_over_time({c="d"}[1m]), "a", "b", "c", "d")`)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	Walk(expr, func(e Expr) bool {
		got = append(got, fmt.Sprintf("%T", e))
		return true
	})
	want := "*syntax.BinOpExpr *syntax.VectorAggregationExpr *syntax.RangeAggregationExpr *syntax.LogRangeExpr " +
		"*syntax.PipelineExpr *syntax.MatchersExpr *syntax.LineFilterExpr *syntax.JSONParserExpr *syntax.UnwrapExpr " +
		"*syntax.LabelReplaceExpr *syntax.RangeAggregationExpr *syntax.LogRangeExpr *syntax.MatchersExpr"
	if strings.Join(got, " ") != want {
		t.Fatalf("walk order\n got: %s\nwant: %s", strings.Join(got, " "), want)
	}

	// Returning false skips the children.
	n := 0
	Walk(expr, func(e Expr) bool {
		n++
		_, isAgg := e.(*VectorAggregationExpr)
		_, isLR := e.(*LabelReplaceExpr)
		return !isAgg && !isLR
	})
	if n != 3 {
		t.Fatalf("pruned walk visited %d nodes, want 3", n)
	}
}

func TestSelectors(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{`{a="b"}`, `{a="b"}`},
		{`{a="b"} |= "x"`, `{a="b"} |= "x"`},
		{`rate({a="b"} | json [1m]) + rate({c="d"}[1m])`, `{a="b"} | json;{c="d"}`},
		{`vector(1) + 1`, ``},
		{`label_replace(sum(count_over_time({a="b"}[1m])), "x", "y", "z", "w")`, `{a="b"}`},
	} {
		expr, err := ParseExpr(tc.in)
		if err != nil {
			t.Fatal(err)
		}
		var parts []string
		for _, s := range Selectors(expr) {
			parts = append(parts, s.String())
		}
		if got := strings.Join(parts, ";"); got != tc.want {
			t.Errorf("Selectors(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
	expr, _ := ParseExpr(`quantile_over_time(0.5, {a="b"} | logfmt | unwrap x [1m])`)
	if got := expr.(*RangeAggregationExpr).Selector().String(); got != `{a="b"} | logfmt` {
		t.Errorf("RangeAggregationExpr.Selector = %s", got)
	}
}

func TestLineFilterHelpers(t *testing.T) {
	for _, tc := range []struct {
		in   string
		only bool
		head string
	}{
		{`{a="b"}`, true, ``},
		{`{a="b"} |= "x" != "y"`, true, `|= "x";!= "y"`},
		{`{a="b"} |= "x" | json |~ "y" | level="error" != "z"`, false, `|= "x";|~ "y";!= "z"`},
		{`{a="b"} |= "x" | line_format "{{.a}}" |= "y"`, false, `|= "x"`},
		{`{a="b"} | decolorize |= "y"`, false, ``},
		{`{a="b"} |= "x" | unpack |= "y"`, false, `|= "x"`},
		{`{a="b"} | logfmt | drop a | label_format b=c |= "y"`, false, `|= "y"`},
	} {
		sel, err := ParseLogSelector(tc.in, true)
		if err != nil {
			t.Fatal(err)
		}
		if got := OnlyLineFilters(sel); got != tc.only {
			t.Errorf("OnlyLineFilters(%q) = %v", tc.in, got)
		}
		var parts []string
		for _, f := range HeadLineFilters(sel) {
			parts = append(parts, f.String())
		}
		if got := strings.Join(parts, ";"); got != tc.head {
			t.Errorf("HeadLineFilters(%q) = %q, want %q", tc.in, got, tc.head)
		}
	}
}

func TestConstantValue(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want float64
		ok   bool
	}{
		{`1`, 1, true},
		{`-2.5`, -2.5, true},
		{`1 + 2 * 3`, 7, true},
		{`(1 + 2) * 3`, 9, true},
		{`2 ^ 3 ^ 2`, 512, true},
		{`7 % 4`, 3, true},
		{`1 > 2`, 0, true},
		{`1 < bool 2`, 1, true},
		{`1 >= 1 > 1`, 0, true},
		{`1 == 1`, 1, true},
		{`1 != 1`, 0, true},
		{`1 <= 0`, 0, true},
		{`1 / 0`, math.NaN(), true},
		{`1 % 0`, math.NaN(), true},
		{`vector(1) + 1`, 0, false},
		{`sum(rate({a="b"}[1m])) * 2`, 0, false},
	} {
		expr, err := ParseSampleExpr(tc.in)
		if err != nil {
			t.Fatal(err)
		}
		got, ok := ConstantValue(expr)
		if ok != tc.ok || ok && !(got == tc.want || math.IsNaN(got) && math.IsNaN(tc.want)) {
			t.Errorf("ConstantValue(%q) = %v, %v; want %v, %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
}

// TestRoundTripEdges covers what the canonical printer must get right for
// the text to read back the same.
func TestRoundTripEdges(t *testing.T) {
	for _, in := range []string{
		`{ünï="x"} | ñame="y"`,
		`{a="b"} | ip = ip("1.2.3.4") | rate="x" | sum > 1 | drop count, vector | keep sum`,
		`sum by (rate, count) (sum_over_time({a="b"} | unwrap bytes [5m]))`,
		`max_over_time({a="b"} | unwrap sum [5m]) by (count)`,
		"{a=\"b\"} |~ `\\d+\\s` | x=~\"\\t\\n\" | line_format `{{.a}}\\n`",
		`{a="\x01\u00a0\t"} |= "\"" | label_format x="{{ \"a\" }}"`,
		`{a="b"} | x > 1e308 | y < 5e-324 | z == -0.0 | w != - 0`,
		`{a="b"} | d > 2562047h47m16.854775807s | e < -1.5ms | f == 1500us`,
		`{a="b"} | s > 18446744073709549568B | t < 1.5GiB | u == 0.5kB`,
		`count_over_time({a="b"}[5m] offset 1500us)`,
		`count_over_time({a="b"}[106751d23h47m16s854ms])`,
		`{a="b"} | a="1", b="2" c="3" or (d="4", e="5") and f="6"`,
		`{a="b"} | (a="1" or b="2") (c="3" or d="4")`,
		`1 - -1 - (2 - 3) ^ -2 ^ 3 % 4`,
		`-2 ^ 2`,
		`vector(1) + on (a) group_left (b) (vector(2) * ignoring (c) group_right vector(3))`,
		`vector(1) > bool vector(2) or vector(3) unless vector(4) and vector(5)`,
		`topk by (a) (5, sum without (b) (rate({a="b"}[1m])))`,
		`label_replace(vector(1), "a\"b", "$1", "c", "(.*)\\d")`,
		`sum(count_over_time({a="b"}[1m])) by ()`,
	} {
		expr, err := ParseExpr(in)
		if err != nil {
			t.Errorf("ParseExpr(%q): %v", in, err)
			continue
		}
		t.Run(in, func(t *testing.T) { checkRoundTrip(t, expr) })
	}
}
