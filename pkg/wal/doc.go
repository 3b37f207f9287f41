// Package wal is the ingester's write-ahead log: segment files of
// checksummed records, written before a push is acknowledged, periodic
// checkpoints of the in-memory state, and the replay that rebuilds that state
// after a crash.
//
// A WAL directory holds numbered segment files and at most one complete
// checkpoint directory (see docs/format/wal.md):
//
//	wal/
//	  checkpoint.00000011/00000000   the state as of the end of segment 11
//	  00000012                       records written since
//	  00000013
//
// Records are framed (magic, length, CRC32-C) so that a reader detects a torn
// or garbled record and carries on with the next readable one. What a record
// means is defined in record.go; the package does not interpret records
// beyond encoding and decoding them.
//
// Writing: Log appends a record to the pending batch and returns a Ticket;
// Wait blocks until the batch holding the ticket's record is written to the
// operating system and, with SyncAlways, fsynced. Concurrent writers share
// writes and fsyncs (group commit). Checkpoints are written beside the log
// with NextSegment, NewCheckpoint and Checkpoint.Commit, which also deletes
// the segments the checkpoint covers.
//
// Reading: Replay reads the last checkpoint, then every later segment, and
// hands each decoded record to a callback, holding one record in memory at a
// time.
package wal
