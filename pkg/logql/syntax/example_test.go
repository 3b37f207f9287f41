package syntax_test

import (
	"fmt"

	"github.com/skald-logs/skald/pkg/logql/syntax"
)

func ExampleParseExpr() {
	expr, err := syntax.ParseExpr(`sum by (app) (rate({env="prod"} |= "error" | json | status>=500 [5m]))`)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(expr)
	for _, sel := range syntax.Selectors(expr) {
		fmt.Println(syntax.MatchersString(sel.Matchers()), len(sel.Stages()), "stages")
		for _, f := range syntax.HeadLineFilters(sel) {
			fmt.Println("head filter:", f)
		}
	}

	_, err = syntax.ParseExpr(`{job="smoke"`)
	fmt.Println(err)
	// Output:
	// sum by (app) (rate({env="prod"} |= "error" | json | status >= 500 [5m]))
	// {env="prod"} 3 stages
	// head filter: |= "error"
	// parse error at line 1, col 13: syntax error: unexpected $end, expecting } or ,
}
