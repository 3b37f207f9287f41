package syntax

import (
	"errors"
	"fmt"
	"strings"
)

// ErrParse marks every error this package returns for a query the user must
// fix: errors.Is(err, ErrParse) is true for all of them.
var ErrParse = errors.New("failed to parse the log query")

// Errors for a query that parses but is not of the kind asked for. Their
// text is Loki's.
var (
	// ErrNotLogSelector: ParseLogSelector got a metric query.
	ErrNotLogSelector error = shapeError("only log selector is supported")
	// ErrNotSampleExpr: ParseSampleExpr got a log query.
	ErrNotSampleExpr error = shapeError("only sample expression supported")
	// ErrNotMatchers: ParseMatchers got more than a stream selector.
	ErrNotMatchers error = shapeError("only label matchers are supported")
)

type shapeError string

func (e shapeError) Error() string        { return string(e) }
func (e shapeError) Is(target error) bool { return target == ErrParse }

// ParseError is an error in a query, reported as Loki reports it. Line and
// Col are 1-based where the error is at a token; both are 0 for errors about
// the query as a whole (then the message has no position). Like Loki, Line
// is 0 but Col is set for errors at tokens that Loki's lexer reads ahead to
// complete (two-character operators, durations, sizes, ranges).
type ParseError struct {
	Line, Col int
	Msg       string
}

func (e *ParseError) Error() string {
	if e.Line == 0 && e.Col == 0 {
		return "parse error : " + e.Msg
	}
	return fmt.Sprintf("parse error at line %d, col %d: %s", e.Line, e.Col, e.Msg)
}

// Is makes errors.Is(err, ErrParse) true.
func (e *ParseError) Is(target error) bool { return target == ErrParse }

func newParseError(msg string) *ParseError { return &ParseError{Msg: msg} }

// NewStageError reports a pipeline stage that cannot be built, the way Loki
// does when it compiles a pipeline: `parse error : stage '| json a="["' : …`.
// The log package uses it for the checks it owns (templates, JSON paths).
func NewStageError(stage StageExpr, err error) error {
	return &ParseError{Msg: fmt.Sprintf("stage '%s' : %s", stage, err)}
}

// syntaxError formats Loki's "syntax error: unexpected X, expecting A or B".
// Like goyacc, it names the expected tokens only when there are at most four.
func syntaxError(t token, expected []tokenKind) *ParseError {
	var sb strings.Builder
	sb.WriteString("syntax error: unexpected ")
	sb.WriteString(t.kind.String())
	if len(expected) > 0 && len(expected) <= 4 {
		sorted := append([]tokenKind(nil), expected...)
		for i := 1; i < len(sorted); i++ {
			for j := i; j > 0 && sorted[j] < sorted[j-1]; j-- {
				sorted[j], sorted[j-1] = sorted[j-1], sorted[j]
			}
		}
		for i, k := range sorted {
			if i == 0 {
				sb.WriteString(", expecting ")
			} else {
				sb.WriteString(" or ")
			}
			sb.WriteString(k.String())
		}
	}
	return &ParseError{Line: t.line, Col: t.col, Msg: sb.String()}
}
