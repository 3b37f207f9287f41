// Package loadgen generates a deterministic log workload and pushes it to a
// Loki-compatible endpoint over the real HTTP push API, measuring what the
// server acknowledges.
//
// A Workload is a fixed set of streams, each with a fixed number of lines
// whose content depends only on the seed, the stream and the line's position
// (generated access, JSON or logfmt lines, or lines cycled from corpus
// files), with timestamps spread evenly and in order over a span ending at a
// given time. Run pushes a workload with concurrent senders, each owning a
// disjoint set of streams so that every stream arrives in timestamp order,
// optionally paced to a target rate, and reports acknowledged lines and bytes
// and the push latencies.
//
// The hot loop allocates nothing per line: lines are generated into reused
// buffers and encoded straight into the protobuf (or JSON) wire format.
package loadgen
