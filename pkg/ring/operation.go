package ring

// Operation says which instance states may serve a request and which states
// make the replication set one instance larger (so that a key keeps RF
// instances able to take it while an instance joins or leaves).
type Operation struct {
	healthy uint32 // bit s: state s may serve
	extend  uint32 // bit s: state s extends the set
	// extendUnknown: states >= 32 (none exist) extend the set.
	extendUnknown bool
}

// NewOp returns the operation served by the healthy states; extend, if not
// nil, says which states extend the replication set.
func NewOp(healthy []InstanceState, extend func(InstanceState) bool) Operation {
	var op Operation
	for _, s := range healthy {
		if s >= 0 && s < 32 {
			op.healthy |= 1 << uint(s)
		}
	}
	if extend != nil {
		for s := InstanceState(0); s < 32; s++ {
			if extend(s) {
				op.extend |= 1 << uint(s)
			}
		}
		op.extendUnknown = extend(1 << 20)
	}
	return op
}

// The operations, with dskit's semantics.
var (
	// Write takes ACTIVE instances only. An instance in any other state in the
	// walk makes the set one larger, so a key being handed between instances
	// still reaches RF that can take it. Unhealthy instances are not replaced:
	// they are dropped from the set, and count against the quorum.
	Write = NewOp([]InstanceState{Active}, func(s InstanceState) bool { return s != Active })
	// WriteNoExtend is Write without extending the set: the set is the first RF
	// instances, of which only the ACTIVE and healthy are written to. Loki's
	// distributor uses it.
	WriteNoExtend = NewOp([]InstanceState{Active}, nil)
	// Read takes ACTIVE and LEAVING instances (a leaving ingester still holds
	// its data until it has flushed) and extends the set past the others, as
	// Write does, so a read reaches every instance a write may have used.
	Read = NewOp([]InstanceState{Active, Leaving}, func(s InstanceState) bool { return s != Active && s != Leaving })
	// Reporting accepts every state: it asks only whether heartbeats are fresh.
	Reporting = NewOp([]InstanceState{Active, Leaving, 2, Joining, Left}, nil)
)

// IsInstanceInStateHealthy reports whether an instance in state s may serve op.
func (op Operation) IsInstanceInStateHealthy(s InstanceState) bool {
	if s < 0 || s >= 32 {
		return false
	}
	return op.healthy&(1<<uint(s)) != 0
}

// ShouldExtendReplicaSetOnState reports whether an instance in state s makes
// the replication set one larger.
func (op Operation) ShouldExtendReplicaSetOnState(s InstanceState) bool {
	if s < 0 || s >= 32 {
		return op.extendUnknown
	}
	return op.extend&(1<<uint(s)) != 0
}
