package logql

import (
	"slices"
	"testing"
)

func TestLineLiterals(t *testing.T) {
	tests := []struct {
		query string
		want  []string
	}{
		{`{app="a"}`, nil},
		{`{app="a"} |= "needle"`, []string{"needle"}},
		{`{app="a"} |= "a" or "bc"`, []string{"a", "bc"}},
		{`{app="a"} |= "ab" |= "longer"`, []string{"longer"}},
		{`{app="a"} |= "" `, nil},
		{`{app="a"} |= "x" or ""`, nil},
		{`{app="a"} != "needle"`, nil},
		{`{app="a"} |= ip("10.0.0.1")`, nil},
		{`{app="a"} |> "<_> GET <_>"`, nil},
		{`{app="a"} |~ "timeout after [5-9][0-9]{3}ms"`, []string{"timeout after "}},
		{`{app="a"} |~ "(?i)needle"`, nil},
		{`{app="a"} |~ "error|warn"`, []string{"error", "warn"}},
		{`{app="a"} |~ "(error|x*)"`, nil},
		{`{app="a"} |~ ".*"`, nil},
		{`{app="a"} |~ "(GET|POST) /api"`, []string{" /api"}},
		{`{app="a"} |~ "a+bcd"`, []string{"bcd"}},
		{`{app="a"} |~ "(?:abc){2}"`, []string{"abc"}},
		{`{app="a"} |~ "` + "\uFFFD" + `x"`, nil}, // U+FFFD also matches invalid UTF-8
		// Filters after a stage that rewrites the line do not count.
		{`{app="a"} | line_format "{{.x}}" |= "needle"`, nil},
		{`{app="a"} |= "a" | json | line_format "{{.x}}" |= "needle"`, []string{"a"}},
		{`{app="a"} | json | status >= 500 |= "needle"`, []string{"needle"}},
		// Sample expressions: the filters of their log selector.
		{`count_over_time({app="a"} |= "needle" [1m])`, []string{"needle"}},
		{`sum by (x) (rate({app="a"} |~ "a|bc" [5m]))`, []string{"a", "bc"}},
		{`count_over_time({app="a"}[1m]) / count_over_time({app="a"} |= "x" [1m])`, nil},
		{`not a query`, nil},
		{``, nil},
	}
	for _, tc := range tests {
		got := lineLiterals(tc.query)
		if !slices.Equal(got, tc.want) {
			t.Errorf("lineLiterals(%q) = %q, want %q", tc.query, got, tc.want)
		}
	}
	if got := (SelectLogParams{Query: `{a="b"} |= "x"`}).LineLiterals(); !slices.Equal(got, []string{"x"}) {
		t.Errorf("SelectLogParams.LineLiterals = %q", got)
	}
	if got := (SelectSampleParams{Query: `count_over_time({a="b"} |= "x" [1m])`}).LineLiterals(); !slices.Equal(got, []string{"x"}) {
		t.Errorf("SelectSampleParams.LineLiterals = %q", got)
	}
}
