package ring

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"slices"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/skald-logs/skald/pkg/ring/ringpb"
)

func TestCodecRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for n := range 500 {
		d := randomDesc(rng)
		for id, in := range d.Instances {
			in.HTTPAddr = id + ":3100"
			d.Instances[id] = in
		}
		b, err := d.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		got, err := DecodeDesc(b)
		if err != nil {
			t.Fatalf("#%d: %v", n, err)
		}
		if !got.Equal(d) {
			t.Fatalf("#%d round trip: %v != %v", n, got, d)
		}
		// Equal rings encode to equal bytes, whatever the map order.
		b2, _ := got.MarshalBinary()
		if !bytes.Equal(b, b2) {
			t.Fatalf("#%d encoding not deterministic", n)
		}
	}
}

func TestDecodeMatchesTheProtoSchema(t *testing.T) {
	// Encode with the generated code and decode with DecodeDesc: field by
	// field, the documented meaning.
	pb := &ringpb.Desc{Instances: []*ringpb.InstanceDesc{{
		Id: "ing-1", Addr: "10.0.0.1:9095", HttpAddr: "10.0.0.1:3100", Zone: "z1",
		State: ringpb.State_LEAVING, Tokens: []uint32{30, 10, 20, 10},
		RegisteredTimestampMs: 1000, TimestampMs: 2000,
	}}}
	b, err := proto.Marshal(pb)
	if err != nil {
		t.Fatal(err)
	}
	d, err := DecodeDesc(b)
	if err != nil {
		t.Fatal(err)
	}
	got := d.Instances["ing-1"]
	want := InstanceDesc{ID: "ing-1", Addr: "10.0.0.1:9095", HTTPAddr: "10.0.0.1:3100", Zone: "z1",
		State: Leaving, Tokens: []uint32{10, 20, 30}, RegisteredTimestamp: 1000, Timestamp: 2000}
	if compareVersions(&got, &want) != 0 || got.ID != want.ID {
		t.Fatalf("decoded %+v, want %+v", got, want)
	}
}

func TestDecodeNormalises(t *testing.T) {
	pb := &ringpb.Desc{Instances: []*ringpb.InstanceDesc{
		{Id: "a", State: ringpb.State_LEFT, Tokens: []uint32{1, 2}, TimestampMs: 5},
		{Id: "b", Tokens: []uint32{4}, TimestampMs: 1},
		{Id: "b", Tokens: []uint32{5}, TimestampMs: 3}, // newer duplicate wins
		{Id: "b", Tokens: []uint32{6}, TimestampMs: 2},
		{Id: "c", State: 42, TimestampMs: 1}, // a state from a newer version
	}}
	b, _ := proto.Marshal(pb)
	d, err := DecodeDesc(b)
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Instances["a"].Tokens) != 0 {
		t.Error("tombstone kept tokens")
	}
	if got := d.Instances["b"].Tokens; !slices.Equal(got, []uint32{5}) {
		t.Errorf("duplicate entries: kept tokens %v, want [5]", got)
	}
	if got := d.Instances["c"].State; got != 42 || Write.IsInstanceInStateHealthy(got) || Read.IsInstanceInStateHealthy(got) {
		t.Errorf("unknown state %v", got)
	}
}

func TestDecodeErrors(t *testing.T) {
	noID, _ := proto.Marshal(&ringpb.Desc{Instances: []*ringpb.InstanceDesc{{Addr: "x"}}})
	for name, b := range map[string][]byte{
		"truncated": {0x0a, 0x05, 0x0a},
		"bad wire":  {0xff, 0xff, 0xff},
		"no id":     noID,
	} {
		if _, err := DecodeDesc(b); !errors.Is(err, ErrInvalidDesc) {
			t.Errorf("%s: err = %v, want ErrInvalidDesc", name, err)
		}
	}
	if d, err := DecodeDesc(nil); err != nil || len(d.Instances) != 0 {
		t.Errorf("empty input: %v, %v", d, err)
	}
}
