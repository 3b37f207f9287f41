// Package ring is Skald's consistent-hash ring: which ingesters hold which
// streams.
//
// Every ingester owns a set of random 32-bit tokens (128 by default). A stream
// is hashed to a key with TokenFor; walking the ring clockwise from the key,
// the owners of the next tokens form the stream's replication set (RF distinct
// instances, in distinct zones when zone awareness is on). Writes succeed on a
// quorum of the set; reads ask enough ingesters to see every acknowledged write.
//
// The ring state is a Desc: one InstanceDesc per instance with its address,
// zone, state, tokens and last heartbeat. A Desc is a CRDT: Merge is
// commutative, associative and idempotent (per instance the newer entry wins),
// so processes that gossip their Descs to each other converge without a
// coordinator. Instances that leave stay as tombstones (state LEFT) long enough
// for the news to spread, so that stale gossip cannot bring them back.
//
// The pieces:
//   - KV stores the Desc and tells watchers of changes. MemoryKV is the
//     single-process implementation; pkg/ring/memberlist gossips the Desc
//     between processes.
//   - Lifecycler puts this ingester in the ring (JOINING, then ACTIVE with its
//     tokens), heartbeats, and on stop goes LEAVING, runs the flush hook and
//     removes itself.
//   - Ring watches a KV and answers Get (the replication set of a key),
//     GetAllHealthy and GetReplicationSetForOperation (the sets queriers read
//     from). It also serves the /ring status page.
//
// The semantics follow dskit's ring (Loki, Cortex, Mimir): the same states,
// operations, quorum arithmetic and error messages, so an operator who knows
// Loki's ring reads Skald's the same way. docs/ring.md describes them.
package ring
