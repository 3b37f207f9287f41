package ring

import (
	"strconv"
	"testing"
	"time"
)

// benchDesc is a ring of n instances with 128 random tokens each, in 3 zones.
func benchDesc(n int) *Desc {
	d := NewDesc()
	for i := range n {
		in := inst("ingester-"+strconv.Itoa(i), "zone-"+strconv.Itoa(i%3))
		in.Tokens = GenerateTokens(128, d.TakenTokens(""))
		d.AddInstance(in)
	}
	return d
}

func BenchmarkGet(b *testing.B) {
	for _, zoneAware := range []bool{false, true} {
		name := "no-zones"
		if zoneAware {
			name = "zones"
		}
		b.Run(name, func(b *testing.B) {
			cfg := defaultConfig()
			cfg.ZoneAwarenessEnabled = zoneAware
			r := &Ring{cfg: cfg, now: func() time.Time { return testNow }}
			r.state.Store(newRingState(benchDesc(100), nil))
			buf := make([]InstanceDesc, 0, 5)
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				if _, err := r.GetInto(TokenFor("fake", uint64(i)), WriteNoExtend, buf); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkTokenFor(b *testing.B) {
	b.ReportAllocs()
	b.SetBytes(int64(len("tenant-1") + 8))
	var sink uint32
	for i := 0; b.Loop(); i++ {
		sink += TokenFor("tenant-1", uint64(i))
	}
	_ = sink
}

func BenchmarkMergeHeartbeat(b *testing.B) {
	d := benchDesc(100)
	hb := d.Instances["ingester-7"]
	b.ReportAllocs()
	for b.Loop() {
		hb.Timestamp++
		if !d.Merge(&Desc{Instances: map[string]InstanceDesc{hb.ID: hb}}) {
			b.Fatal("no change")
		}
	}
}

func BenchmarkEncodeDesc(b *testing.B) {
	d := benchDesc(100)
	enc, _ := d.MarshalBinary()
	b.SetBytes(int64(len(enc)))
	b.ReportAllocs()
	buf := make([]byte, 0, len(enc))
	for b.Loop() {
		if _, err := d.AppendBinary(buf[:0]); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecodeDesc(b *testing.B) {
	enc, _ := benchDesc(100).MarshalBinary()
	b.SetBytes(int64(len(enc)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := DecodeDesc(enc); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkRingStateRebuild(b *testing.B) {
	d := benchDesc(100)
	b.ReportAllocs()
	for b.Loop() {
		_ = newRingState(d, nil)
	}
}
