// Package api serves Grafana Loki's HTTP API: the push endpoints, the query
// and metadata endpoints, the live tail, volumes, the Logs Drilldown
// endpoints (detected labels and fields, limits, patterns), format_query,
// and the small operational routes (/ready, /metrics, build info, /flush).
//
// It owns everything a Loki client sees on the wire and nothing behind it:
// routing, tenant resolution (X-Scope-OrgID), parameter parsing with Loki's
// rules and messages, decoding push bodies, encoding responses in Loki's JSON
// shapes, and mapping errors to HTTP status codes. The work itself is done by
// the implementations of the small interfaces declared here (Pusher, Engine,
// Metadata, Volumes, LabelDetector, Tailer, TenantLimits, Flusher,
// Readiness), which the app wires in. The live tail (a WebSocket) sends the
// history the Engine answers, then what the Tailer follows as it is pushed;
// it ends when the client goes, on error, after tail_max_duration, or on
// Shutdown.
//
// Errors: only this package turns errors into status codes. Producers wrap
// sentinel errors (logql.ErrBadRequest, logql.ErrTimeout,
// validation.ErrInvalid, validation.ErrRateLimited, syntax.ErrParse) and make
// err.Error() the text the user should read; the body of an error response is
// that text verbatim.
package api
