// Package validation holds the per-tenant limits (Loki's limits_config) and
// the checks that the distributor applies to every pushed stream and entry.
package validation

import "errors"

// Errors of the write path; the API maps them to HTTP status codes.
var (
	// ErrInvalid marks input that breaks a validation rule (400). The message
	// names the stream and the rule; valid parts of the request were kept.
	ErrInvalid = errors.New("invalid push")
	// ErrRateLimited marks a push refused by a rate or stream-count limit (429).
	ErrRateLimited = errors.New("rate limited")
)
