// Package logproto holds Skald's wire types: the push request shared by the
// HTTP API, the distributor and the ingesters, the entries and streams that
// queries return, and the decoders for Loki's push encodings.
//
// Timestamps are int64 Unix nanoseconds everywhere inside Skald.
package logproto

import (
	"strings"
)

// LabelAdapter is one name/value pair: a structured-metadata field or a label
// extracted by a parser.
type LabelAdapter struct {
	Name  string
	Value string
}

// Entry is one log line.
type Entry struct {
	Timestamp          int64 // Unix nanoseconds
	Line               string
	StructuredMetadata []LabelAdapter
	// Parsed holds labels extracted by a query's parsers; it is set on query
	// results only and never sent on push.
	Parsed []LabelAdapter
}

// Stream is a labelled sequence of entries.
type Stream struct {
	// Labels in Prometheus text form, e.g. {app="web", env="prod"}.
	Labels  string
	Entries []Entry
	// Hash is an internal fingerprint of Labels; clients leave it 0.
	Hash uint64
}

// PushRequest is the body of a push: Loki's logproto.PushRequest.
type PushRequest struct {
	Streams []Stream
}

// Direction orders the entries of a log query.
type Direction uint8

const (
	// Backward returns the newest entries first (Loki's default).
	Backward Direction = iota
	// Forward returns the oldest entries first.
	Forward
)

// String returns the upper-case name Loki uses.
func (d Direction) String() string {
	if d == Forward {
		return "FORWARD"
	}
	return "BACKWARD"
}

// ParseDirection reads "forward" or "backward" in any case.
func ParseDirection(s string) (Direction, bool) {
	switch strings.ToLower(s) {
	case "forward":
		return Forward, true
	case "backward":
		return Backward, true
	}
	return Backward, false
}
