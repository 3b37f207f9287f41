// Package memberlist is the ring's KV store for a cluster: every process
// keeps the ring descriptors (ring.Desc, by key) in memory and gossips them
// to the others with hashicorp/memberlist, so the cluster needs no
// coordination service. It is the only importer of hashicorp/memberlist in
// Skald.
//
// Because a ring.Desc is a CRDT (its Merge is commutative, associative and
// idempotent), the gossip needs no ordering or acknowledgement:
//
//   - A local update (KV.CAS) is merged into the local value and each
//     instance entry that changed is broadcast on its own, through
//     memberlist's TransmitLimitedQueue (UDP, piggybacked on the failure
//     detector's gossip, retransmitted RetransmitMult*log(N+1) times). A
//     newer entry of the same instance replaces one still queued. Entries too
//     large for a UDP packet (many tokens) go over TCP to a few random members.
//   - A received entry that changes the local value is broadcast on in turn,
//     so news spreads epidemically and stops where it is already known.
//   - Every PushPullInterval, and when a member joins, two members exchange
//     and merge their full state over TCP, which repairs anything the
//     gossip lost.
//
// Tombstones (instances that left) are deleted LeftIngestersTimeout after
// they were written. Members leave the memberlist cluster gracefully on Stop,
// after their last broadcasts went out.
package memberlist
