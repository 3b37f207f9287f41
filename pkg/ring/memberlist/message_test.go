package memberlist

import (
	"bytes"
	"errors"
	"flag"
	"slices"
	"testing"
	"time"

	"github.com/skald-logs/skald/pkg/ring"
)

func testDesc(ids ...string) *ring.Desc {
	d := ring.NewDesc()
	for i, id := range ids {
		d.AddInstance(ring.InstanceDesc{ID: id, Addr: id + ":9095", Tokens: []uint32{uint32(i), uint32(i + 100)}, Timestamp: int64(i + 1)})
	}
	return d
}

func TestMessageRoundTrip(t *testing.T) {
	d := testDesc("a", "b")
	msg, err := appendMessage(nil, "ring", d)
	if err != nil {
		t.Fatal(err)
	}
	key, got, err := decodeMessage(msg)
	if err != nil || key != "ring" || !got.Equal(d) {
		t.Fatalf("got %q %v %v", key, got, err)
	}
	// The layout is the documented one: version, key, Desc encoding.
	enc, _ := d.MarshalBinary()
	if want := append([]byte{1, 4, 'r', 'i', 'n', 'g'}, enc...); !bytes.Equal(msg, want) {
		t.Fatalf("message bytes %x, want %x", msg, want)
	}
}

func TestStateRoundTrip(t *testing.T) {
	values := map[string]*ring.Desc{"ring": testDesc("a", "b"), "distributor": testDesc("d"), "empty": ring.NewDesc()}
	b, err := encodeState(values)
	if err != nil {
		t.Fatal(err)
	}
	got, err := decodeState(b)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(values) {
		t.Fatalf("%d keys, want %d", len(got), len(values))
	}
	for k, v := range values {
		if !got[k].Equal(v) {
			t.Fatalf("key %s: %v, want %v", k, got[k], v)
		}
	}
	b2, _ := encodeState(got)
	if !bytes.Equal(b, b2) {
		t.Fatal("state encoding not deterministic")
	}
}

func TestDecodeErrors(t *testing.T) {
	good, _ := appendMessage(nil, "ring", testDesc("a"))
	state, _ := encodeState(map[string]*ring.Desc{"ring": testDesc("a")})
	for name, tt := range map[string]struct {
		b     []byte
		state bool
	}{
		"empty message":        {b: nil},
		"wrong version":        {b: append([]byte{2}, good[1:]...)},
		"key past the end":     {b: []byte{1, 9, 'r'}},
		"key too long":         {b: append([]byte{1, 0x81, 0x02}, make([]byte, 257)...)},
		"bad desc":             {b: []byte{1, 1, 'k', 0xff, 0xff}},
		"empty state":          {b: nil, state: true},
		"state wrong version":  {b: append([]byte{0}, state[1:]...), state: true},
		"state count too big":  {b: []byte{1, 100, 0}, state: true},
		"state truncated":      {b: state[:len(state)-1], state: true},
		"state trailing bytes": {b: append(slices.Clone(state), 0), state: true},
		"state length too big": {b: []byte{1, 1, 1, 'k', 50, 0}, state: true},
	} {
		var err error
		if tt.state {
			_, err = decodeState(tt.b)
		} else {
			_, _, err = decodeMessage(tt.b)
		}
		if !errors.Is(err, ErrInvalidMessage) {
			t.Errorf("%s: err = %v, want ErrInvalidMessage", name, err)
		}
	}
}

func FuzzDecodeMessage(f *testing.F) {
	good, _ := appendMessage(nil, "ring", testDesc("a", "b"))
	f.Add(good)
	f.Add([]byte{1, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		key, d, err := decodeMessage(b)
		if err != nil {
			if !errors.Is(err, ErrInvalidMessage) {
				t.Fatalf("error %v does not wrap ErrInvalidMessage", err)
			}
			return
		}
		again, err := appendMessage(nil, key, d)
		if err != nil {
			t.Fatal(err)
		}
		key2, d2, err := decodeMessage(again)
		if err != nil || key2 != key || !d2.Equal(d) {
			t.Fatalf("re-decode: %q %v %v", key2, d2, err)
		}
	})
}

func FuzzDecodeState(f *testing.F) {
	state, _ := encodeState(map[string]*ring.Desc{"ring": testDesc("a"), "x": testDesc("b", "c")})
	f.Add(state)
	f.Add([]byte{1, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		values, err := decodeState(b)
		if err != nil {
			if !errors.Is(err, ErrInvalidMessage) {
				t.Fatalf("error %v does not wrap ErrInvalidMessage", err)
			}
			return
		}
		again, err := encodeState(values)
		if err != nil {
			t.Fatal(err)
		}
		values2, err := decodeState(again)
		if err != nil || len(values2) != len(values) {
			t.Fatalf("re-decode: %v", err)
		}
		for k, v := range values {
			if !values2[k].Equal(v) {
				t.Fatalf("key %q differs after re-decode", k)
			}
		}
	})
}

func TestConfigFlags(t *testing.T) {
	var c Config
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	c.RegisterFlags(fs)
	if err := fs.Parse([]string{"-memberlist.join=a:7946, dns+b:7946", "-memberlist.bind-addr=10.0.0.1", "-memberlist.advertise-port=8000"}); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(c.JoinMembers, []string{"a:7946", "dns+b:7946"}) || !slices.Equal(c.BindAddr, []string{"10.0.0.1"}) ||
		c.BindPort != 7946 || c.AdvertisePort != 8000 || c.GossipInterval != 200*time.Millisecond ||
		c.PushPullInterval != 30*time.Second || c.LeftIngestersTimeout != 5*time.Minute || !c.RandomizeNodeName {
		t.Fatalf("parsed %+v", c)
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	bad := c
	bad.BindAddr = []string{"a", "b"}
	if bad.Validate() == nil {
		t.Error("two bind addresses accepted")
	}
	bad = c
	bad.MaxJoinBackoff = 0
	if bad.Validate() == nil {
		t.Error("max join backoff below min accepted")
	}
	if got := resolveMembers([]string{"dns+a:1", "b:2"}, nil); !slices.Equal(got, []string{"a:1", "b:2"}) {
		t.Errorf("resolveMembers %v", got)
	}
}
