// Package pb is the Go code generated from pkg/logproto/push.proto: Loki's
// push messages and the Pusher gRPC service. Skald's own code decodes
// pushes into pkg/logproto's types instead; these generated types serve the
// gRPC plumbing and are the independent reference encoder in tests.
//
// Regenerate with `make generate` (tools/generate.sh); do not edit the
// *.pb.go files.
package pb
