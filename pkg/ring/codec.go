package ring

import (
	"errors"
	"fmt"
	"slices"

	"google.golang.org/protobuf/proto"

	"github.com/skald-logs/skald/pkg/ring/ringpb"
)

// ErrInvalidDesc is returned by DecodeDesc for bytes that are not a ring.
var ErrInvalidDesc = errors.New("invalid ring descriptor")

// MarshalBinary encodes d as the Desc message of ring.proto, instances sorted
// by ID, so equal rings encode to equal bytes.
func (d *Desc) MarshalBinary() ([]byte, error) {
	return d.AppendBinary(nil)
}

// AppendBinary appends the encoding of d to b.
func (d *Desc) AppendBinary(b []byte) ([]byte, error) {
	ids := make([]string, 0, len(d.Instances))
	for id := range d.Instances {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	pb := &ringpb.Desc{Instances: make([]*ringpb.InstanceDesc, len(ids))}
	for i, id := range ids {
		inst := d.Instances[id]
		pb.Instances[i] = &ringpb.InstanceDesc{
			Id:                    id,
			Addr:                  inst.Addr,
			HttpAddr:              inst.HTTPAddr,
			Zone:                  inst.Zone,
			State:                 ringpb.State(inst.State),
			Tokens:                inst.Tokens,
			RegisteredTimestampMs: inst.RegisteredTimestamp,
			TimestampMs:           inst.Timestamp,
		}
	}
	return proto.MarshalOptions{Deterministic: true}.MarshalAppend(b, pb)
}

// DecodeDesc decodes the encoding of a Desc. It accepts what a newer or a
// careless writer may send and normalises it: unknown fields and states are
// kept or ignored, tokens are sorted and deduplicated, a tombstone's tokens
// dropped, and two entries of one instance merged. An entry without an ID is
// an error wrapping ErrInvalidDesc.
func DecodeDesc(b []byte) (*Desc, error) {
	var pb ringpb.Desc
	if err := proto.Unmarshal(b, &pb); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidDesc, err)
	}
	d := &Desc{Instances: make(map[string]InstanceDesc, len(pb.Instances))}
	for _, p := range pb.Instances {
		if p.Id == "" {
			return nil, fmt.Errorf("%w: instance without id", ErrInvalidDesc)
		}
		inst := InstanceDesc{
			ID:                  p.Id,
			Addr:                p.Addr,
			HTTPAddr:            p.HttpAddr,
			Zone:                p.Zone,
			State:               InstanceState(p.State),
			Tokens:              normalizeTokens(p.Tokens),
			RegisteredTimestamp: p.RegisteredTimestampMs,
			Timestamp:           p.TimestampMs,
		}
		if inst.State == Left || len(inst.Tokens) == 0 {
			inst.Tokens = nil
		}
		if prev, ok := d.Instances[inst.ID]; ok && compareVersions(&inst, &prev) <= 0 {
			continue
		}
		d.Instances[inst.ID] = inst
	}
	return d, nil
}
