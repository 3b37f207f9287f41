// Package conformance is Skald's LogQL conformance corpus: several hundred
// LogQL queries over real logs (loghub, elastic/examples) and small hand-made
// streams, each with an answer derived independently of the engine — written
// by hand in testdata/corpus/*.txt, or computed in the test by plain reference
// code (strings.Contains, a small logfmt reader, window loops, sorts).
//
// The queries run through the real read path: the HTTP API (pkg/api) over the
// LogQL engine, the querier, an ingester and a chunk store on an in-memory
// bucket; the data is pushed through the push endpoint and the distributor.
// The package has no code of its own; everything is in its tests.
package conformance
