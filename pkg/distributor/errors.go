package distributor

import (
	"fmt"
	"strings"

	"github.com/skald-logs/skald/pkg/validation"
)

// invalidError is a validation failure whose text is exactly what the user
// sees; it matches validation.ErrInvalid.
type invalidError string

func (e invalidError) Error() string        { return string(e) }
func (e invalidError) Is(target error) bool { return target == validation.ErrInvalid }

// rateLimitedError is a refusal by a rate limit; it matches
// validation.ErrRateLimited.
type rateLimitedError string

func (e rateLimitedError) Error() string        { return string(e) }
func (e rateLimitedError) Is(target error) bool { return target == validation.ErrRateLimited }

// errorList collects the validation failures of one push, one line each.
type errorList struct {
	msgs  []string
	extra int
}

func (l *errorList) add(msg string) {
	if len(l.msgs) < maxReportedErrors {
		l.msgs = append(l.msgs, msg)
		return
	}
	l.extra++
}

func (l *errorList) err() error {
	if len(l.msgs) == 0 {
		return nil
	}
	msg := strings.Join(l.msgs, "\n")
	if l.extra > 0 {
		msg += fmt.Sprintf("\n(and %d more errors)", l.extra)
	}
	return invalidError(msg)
}
