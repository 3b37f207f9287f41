package api

import (
	"errors"

	"github.com/skald-logs/skald/pkg/logql/syntax"
)

// isParseError reports whether err is a LogQL parse error (400).
func isParseError(err error) bool {
	return errors.Is(err, syntax.ErrParse)
}
