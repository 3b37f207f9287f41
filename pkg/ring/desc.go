package ring

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"time"
)

// InstanceState is the lifecycle state of an instance, as stored in the ring.
// UNHEALTHY is not a stored state: an instance is unhealthy when its last
// heartbeat is older than the heartbeat timeout, whatever its state.
type InstanceState int32

// The states, numbered as in dskit's ring.
const (
	// Active instances own their tokens for reads and writes.
	Active InstanceState = 0
	// Leaving instances are shutting down (flushing); they still serve reads.
	Leaving InstanceState = 1
	// Joining instances are registering their tokens; they take no writes yet.
	Joining InstanceState = 3
	// Left marks a tombstone: the instance left the ring. It has no tokens.
	Left InstanceState = 4
)

// String returns the state's name as Loki shows it.
func (s InstanceState) String() string {
	switch s {
	case Active:
		return "ACTIVE"
	case Leaving:
		return "LEAVING"
	case 2:
		return "PENDING"
	case Joining:
		return "JOINING"
	case Left:
		return "LEFT"
	}
	return "UNKNOWN(" + strconv.Itoa(int(s)) + ")"
}

// InstanceDesc is one instance of the ring. Tokens is sorted ascending with no
// duplicates; a Desc never modifies a Tokens slice in place and neither should
// its users: assign a new slice instead.
type InstanceDesc struct {
	ID       string // unique name; also the key in Desc.Instances
	Addr     string // gRPC address, host:port
	HTTPAddr string // HTTP address, host:port; may be empty
	Zone     string // availability zone; may be empty
	State    InstanceState
	Tokens   []uint32
	// RegisteredTimestamp is when the instance first registered, Unix ms.
	RegisteredTimestamp int64
	// Timestamp is the last heartbeat, Unix ms. It is also the version of the
	// entry: Merge keeps the entry with the larger Timestamp.
	Timestamp int64
}

// HeartbeatTime is the time of the last heartbeat.
func (i *InstanceDesc) HeartbeatTime() time.Time { return time.UnixMilli(i.Timestamp) }

// RegisteredTime is when the instance registered, or the zero time if unknown.
func (i *InstanceDesc) RegisteredTime() time.Time {
	if i.RegisteredTimestamp == 0 {
		return time.Time{}
	}
	return time.UnixMilli(i.RegisteredTimestamp)
}

// IsHeartbeatHealthy reports whether the last heartbeat is at most timeout
// before now. A timeout of 0 disables the check (as in Loki).
func (i *InstanceDesc) IsHeartbeatHealthy(timeout time.Duration, now time.Time) bool {
	if timeout <= 0 {
		return true
	}
	return now.UnixMilli()-i.Timestamp <= timeout.Milliseconds()
}

// IsHealthy reports whether the instance may serve op: its state is one op
// accepts and its heartbeat is recent enough.
func (i *InstanceDesc) IsHealthy(op Operation, timeout time.Duration, now time.Time) bool {
	return op.IsInstanceInStateHealthy(i.State) && i.IsHeartbeatHealthy(timeout, now)
}

func (i *InstanceDesc) clone() InstanceDesc {
	c := *i
	if i.Tokens != nil {
		c.Tokens = slices.Clone(i.Tokens)
	}
	return c
}

// compareVersions orders two entries of the same instance: the one that sorts
// higher wins a merge. The order is total (two entries compare equal only when
// they are equal), which is what makes Merge commutative and associative: the
// result is the per-instance maximum whatever the order of the merges.
//
// The heartbeat timestamp decides; on a tie a tombstone wins, then the larger
// state number, then the content, compared field by field.
func compareVersions(a, b *InstanceDesc) int {
	if c := cmp.Compare(a.Timestamp, b.Timestamp); c != 0 {
		return c
	}
	if (a.State == Left) != (b.State == Left) {
		if a.State == Left {
			return 1
		}
		return -1
	}
	if c := cmp.Compare(a.State, b.State); c != 0 {
		return c
	}
	if c := cmp.Compare(a.RegisteredTimestamp, b.RegisteredTimestamp); c != 0 {
		return c
	}
	if c := cmp.Compare(a.Addr, b.Addr); c != 0 {
		return c
	}
	if c := cmp.Compare(a.HTTPAddr, b.HTTPAddr); c != 0 {
		return c
	}
	if c := cmp.Compare(a.Zone, b.Zone); c != 0 {
		return c
	}
	if c := cmp.Compare(len(a.Tokens), len(b.Tokens)); c != 0 {
		return c
	}
	return slices.Compare(a.Tokens, b.Tokens)
}

// Desc is the state of a ring: every instance by ID, including tombstones.
//
// A Desc is not safe for concurrent use; KV implementations hand out copies.
// Change an instance with AddInstance or Remove rather than by editing the
// map: an entry deleted from the map comes back with the next merge.
type Desc struct {
	Instances map[string]InstanceDesc
}

// NewDesc returns an empty ring.
func NewDesc() *Desc { return &Desc{Instances: map[string]InstanceDesc{}} }

// Clone returns a deep copy of d.
func (d *Desc) Clone() *Desc {
	c := &Desc{Instances: make(map[string]InstanceDesc, len(d.Instances))}
	for id, inst := range d.Instances {
		c.Instances[id] = inst.clone()
	}
	return c
}

// AddInstance stores inst under inst.ID, replacing any entry, with its tokens
// sorted and deduplicated (the slice is copied). The caller chooses the
// Timestamp; it must be larger than the one of the entry it replaces, or the
// change loses the next merge with a process that has the older entry.
func (d *Desc) AddInstance(inst InstanceDesc) {
	if d.Instances == nil {
		d.Instances = map[string]InstanceDesc{}
	}
	inst.Tokens = normalizeTokens(slices.Clone(inst.Tokens))
	if inst.State == Left {
		inst.Tokens = nil
	}
	d.Instances[inst.ID] = inst
}

// Remove replaces the instance with a tombstone: state LEFT, no tokens, and a
// timestamp of now or, if the entry's clock ran ahead, one millisecond after
// its last heartbeat, so the tombstone wins against every entry seen so far.
// It reports whether there was a live entry to remove.
func (d *Desc) Remove(id string, now time.Time) bool {
	inst, ok := d.Instances[id]
	if !ok || inst.State == Left {
		return false
	}
	d.Instances[id] = InstanceDesc{
		ID:                  id,
		Addr:                inst.Addr,
		HTTPAddr:            inst.HTTPAddr,
		Zone:                inst.Zone,
		State:               Left,
		RegisteredTimestamp: inst.RegisteredTimestamp,
		Timestamp:           max(now.UnixMilli(), inst.Timestamp+1),
	}
	return true
}

// RemoveTombstones deletes the tombstones whose timestamp is before limit and
// returns how many it deleted. This is the one change that is not a merge: a
// process that still holds the live entry of a deleted tombstone (one cut off
// from the others for longer than the tombstone lived) brings it back, where
// it shows as UNHEALTHY until it is forgotten again.
func (d *Desc) RemoveTombstones(limit time.Time) int {
	removed := 0
	l := limit.UnixMilli()
	for id, inst := range d.Instances {
		if inst.State == Left && inst.Timestamp < l {
			delete(d.Instances, id)
			removed++
		}
	}
	return removed
}

// Merge merges other into d: for every instance, the newer entry wins (see
// InstanceDesc.Timestamp; ties are broken by a fixed order, so the result does
// not depend on the order of merges). It reports whether d changed. other is
// not modified and d shares no memory with it afterwards.
func (d *Desc) Merge(other *Desc) bool {
	return d.merge(other, nil)
}

// MergeDelta is Merge, returning the entries of d that changed (their new
// values, copied), or nil when nothing changed. Gossip sends the delta on.
func (d *Desc) MergeDelta(other *Desc) *Desc {
	var delta Desc
	if !d.merge(other, &delta) {
		return nil
	}
	return &delta
}

func (d *Desc) merge(other *Desc, delta *Desc) bool {
	if other == nil {
		return false
	}
	if d.Instances == nil {
		d.Instances = map[string]InstanceDesc{}
	}
	changed := false
	for id, theirs := range other.Instances {
		theirs.ID = id
		if !isNormalized(&theirs) {
			theirs = theirs.clone()
			theirs.Tokens = normalizeTokens(theirs.Tokens)
			if theirs.State == Left {
				theirs.Tokens = nil
			}
		}
		ours, ok := d.Instances[id]
		if ok && compareVersions(&theirs, &ours) <= 0 {
			continue
		}
		taken := theirs.clone()
		d.Instances[id] = taken
		changed = true
		if delta != nil {
			if delta.Instances == nil {
				delta.Instances = map[string]InstanceDesc{}
			}
			delta.Instances[id] = taken.clone()
		}
	}
	return changed
}

// Equal reports whether d and other hold the same entries.
func (d *Desc) Equal(other *Desc) bool {
	if len(d.Instances) != len(other.Instances) {
		return false
	}
	for id, a := range d.Instances {
		b, ok := other.Instances[id]
		if !ok || compareVersions(&a, &b) != 0 || a.ID != b.ID {
			return false
		}
	}
	return true
}

// TakenTokens returns the sorted tokens of every live instance but except.
func (d *Desc) TakenTokens(except string) []uint32 {
	n := 0
	for id, inst := range d.Instances {
		if id != except {
			n += len(inst.Tokens)
		}
	}
	out := make([]uint32, 0, n)
	for id, inst := range d.Instances {
		if id != except && inst.State != Left {
			out = append(out, inst.Tokens...)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// String is a short summary for logs and test failures.
func (d *Desc) String() string {
	ids := make([]string, 0, len(d.Instances))
	for id := range d.Instances {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	s := "ring{"
	for i, id := range ids {
		inst := d.Instances[id]
		if i > 0 {
			s += ", "
		}
		s += fmt.Sprintf("%s:%s@%d/%dt", id, inst.State, inst.Timestamp, len(inst.Tokens))
	}
	return s + "}"
}

// isNormalized reports whether inst's tokens are strictly increasing and a
// tombstone has none.
func isNormalized(inst *InstanceDesc) bool {
	if inst.State == Left {
		return len(inst.Tokens) == 0
	}
	for i := 1; i < len(inst.Tokens); i++ {
		if inst.Tokens[i] <= inst.Tokens[i-1] {
			return false
		}
	}
	return true
}

// normalizeTokens sorts tokens and drops duplicates, in place.
func normalizeTokens(tokens []uint32) []uint32 {
	if !slices.IsSorted(tokens) {
		slices.Sort(tokens)
	}
	return slices.Compact(tokens)
}
