// Package storage is the chunk store: it writes flushed chunks and their label
// index to an object store and answers queries over them.
package storage

import (
	"fmt"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/skald-logs/skald/pkg/index"
)

// Chunk is one encoded chunk of one stream, ready to be written.
type Chunk struct {
	Labels      labels.Labels
	Fingerprint uint64
	Data        []byte
	Ref         index.ChunkRef
}

// ChunkKey names a chunk object: by tenant, stream fingerprint, time bounds
// and content checksum, so identical chunks (from replicas) share one object.
func ChunkKey(tenant string, fp uint64, ref index.ChunkRef) string {
	return fmt.Sprintf("chunks/%s/%016x/%016x-%016x-%08x", tenant, fp, uint64(ref.From), uint64(ref.Through), ref.Checksum)
}
