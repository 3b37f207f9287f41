// Package chunk implements Skald's chunk format: the compressed, checksummed,
// immutable unit in which the entries of one stream over a time span are
// stored.
//
// The ingester appends to a MemChunk: entries may arrive in any order and land
// in an unordered head block, which is sorted and compressed into an
// immutable block once it holds BlockSize bytes. Exact duplicates (same
// timestamp, line and structured metadata) are dropped on Append. When the
// chunk is flushed, Encode produces its byte form, which depends only on the
// entries (see docs/format/chunk.md for the layout and the determinism rule).
// Queriers Decode those bytes into a Chunk and iterate it block by block.
//
// Blocks are written in format version 2: inside a block the timestamps,
// the metadata and the lines are stored apart, the lines as one
// newline-separated region. Version 1 chunks are still read.
//
// Both kinds of chunk hand out EntryIterators that iterate a time range
// [from, through) forward (ascending timestamps, equal timestamps in arrival
// order) or backward (exactly the reverse) without allocating per entry.
// An iterator can be given literals (IterOptions.Contains, the push-down of
// a query's line filters): it then searches each block's lines region once,
// skips the blocks where none occurs, and yields only the entries whose line
// contains one.
package chunk
