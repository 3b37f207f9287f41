// Package index is Skald's label index format: the small immutable object
// that an ingester flush writes per tenant and day, listing each flushed
// series (stream) with its label set, fingerprint and chunk references.
//
// A Writer collects series and encodes them; Decode validates an encoded
// object and returns a Reader that answers the store's questions: which
// series match a LogQL stream selector in a time range, with which chunks
// (Series), which label names and values those series carry (LabelNames,
// LabelValues) and how much data they hold (Stats). Merge unions several
// objects into one, as the compactor does with a day's flushes.
//
// The byte layout is documented in docs/format/index.md. A Reader is
// immutable and safe for concurrent use; a Writer is not.
package index
