package api

import (
	"context"
	"errors"
	"net/http"

	"github.com/skald-logs/skald/pkg/logql"
	"github.com/skald-logs/skald/pkg/validation"
)

// statusClientClosedRequest is the non-standard code Loki (like nginx) uses
// when the client went away before the answer was ready.
const statusClientClosedRequest = 499

// Loki's texts for errors that come from the runtime rather than from a
// producer that wrote a message for the user.
const (
	msgClientCanceled   = "the request was cancelled by the client"
	msgDeadlineExceeded = "request timed out, decrease the duration of the request or add more label matchers (prefer exact match over regex match) to reduce the amount of data processed"
)

// httpError is an error raised by this package with its own status code:
// bad parameters (400), no tenant (401), body too large (413), no streams
// (422).
type httpError struct {
	status int
	msg    string
}

func (e *httpError) Error() string { return e.msg }

func badRequest(msg string) error {
	return &httpError{status: http.StatusBadRequest, msg: msg}
}

// statusAndMessage maps an error to the status code and body Loki would
// send. Producers' messages go out verbatim; a bare context error gets
// Loki's wording, since "context canceled" tells the user nothing.
func statusAndMessage(err error) (int, string) {
	var he *httpError
	switch {
	case errors.As(err, &he):
		return he.status, he.msg
	case isParseError(err),
		errors.Is(err, logql.ErrBadRequest),
		errors.Is(err, validation.ErrInvalid):
		return http.StatusBadRequest, err.Error()
	case errors.Is(err, validation.ErrRateLimited):
		return http.StatusTooManyRequests, err.Error()
	case errors.Is(err, logql.ErrTimeout):
		return http.StatusGatewayTimeout, err.Error()
	case errors.Is(err, context.DeadlineExceeded):
		if err == context.DeadlineExceeded {
			return http.StatusGatewayTimeout, msgDeadlineExceeded
		}
		return http.StatusGatewayTimeout, err.Error()
	case errors.Is(err, context.Canceled):
		if err == context.Canceled {
			return statusClientClosedRequest, msgClientCanceled
		}
		return statusClientClosedRequest, err.Error()
	}
	return http.StatusInternalServerError, err.Error()
}

// writeError writes err as Loki's query path does: text/plain, nosniff,
// the bare message without a trailing newline.
func writeError(w http.ResponseWriter, err error) {
	status, msg := statusAndMessage(err)
	h := w.Header()
	h.Del("Content-Encoding")
	h.Set("Content-Type", "text/plain; charset=utf-8")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(msg))
}

// writePushError writes err as Loki's push handler does (http.Error): the
// same headers, the message followed by a newline.
func writePushError(w http.ResponseWriter, err error) {
	status, msg := statusAndMessage(err)
	http.Error(w, msg, status)
}
