package ring

import (
	"bytes"
	"math/rand/v2"
	"testing"
)

// FuzzDecodeDesc checks that any input either fails with ErrInvalidDesc or
// decodes to a normalised ring that re-encodes to a fixed point, and that
// merging it is well behaved.
func FuzzDecodeDesc(f *testing.F) {
	rng := rand.New(rand.NewPCG(7, 8))
	for range 8 {
		b, _ := randomDesc(rng).MarshalBinary()
		f.Add(b)
	}
	b, _ := descOf(inst("ing-1", "z1", 1, 2, 3), withState(inst("ing-2", "", 9), Leaving)).MarshalBinary()
	f.Add(b)
	f.Add([]byte{})

	f.Fuzz(func(t *testing.T, data []byte) {
		d, err := DecodeDesc(data)
		if err != nil {
			return
		}
		for id, in := range d.Instances {
			if id == "" || in.ID != id {
				t.Fatalf("entry %q has ID %q", id, in.ID)
			}
			if !isNormalized(&in) {
				t.Fatalf("entry %q not normalised: %+v", id, in)
			}
		}
		enc, err := d.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		d2, err := DecodeDesc(enc)
		if err != nil {
			t.Fatalf("re-decode: %v", err)
		}
		if !d2.Equal(d) {
			t.Fatalf("re-decode differs: %v vs %v", d2, d)
		}
		enc2, _ := d2.MarshalBinary()
		if !bytes.Equal(enc, enc2) {
			t.Fatal("encoding is not a fixed point")
		}
		// Merging into an empty ring gives the same ring; merging twice
		// changes nothing.
		m := NewDesc()
		m.Merge(d)
		if !m.Equal(d) || m.Merge(d) {
			t.Fatal("merge of a decoded ring misbehaves")
		}
		_ = newRingState(d, nil)
	})
}
