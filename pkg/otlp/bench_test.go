package otlp

import (
	"testing"

	"github.com/skald-logs/skald/pkg/logproto"
	"github.com/skald-logs/skald/pkg/validation"
)

// BenchmarkDecode decodes a 1000-record export (see batch) as the
// /otlp/v1/logs handler does, in each format and with the Collector's
// default gzip; bytes are those of the body on the wire.
func BenchmarkDecode(b *testing.B) {
	ld := batch(1000)
	d := NewDecoder(DefaultConfig())
	opts := Options{DiscoverServiceName: validation.DefaultServiceNameLabels, Now: testNow}
	for _, bc := range []struct {
		name     string
		format   Format
		encoding string
	}{
		{"protobuf", Protobuf, ""},
		{"protobuf-gzip", Protobuf, "gzip"},
		{"protobuf-zstd", Protobuf, "zstd"},
		{"json", JSON, ""},
	} {
		b.Run(bc.name, func(b *testing.B) {
			body := compress(b, bc.encoding, marshal(b, ld, bc.format))
			var buf []byte
			b.SetBytes(int64(len(body)))
			b.ReportAllocs()
			for b.Loop() {
				data, err := Decompress(buf[:0], bc.encoding, body, 1<<30)
				if err != nil {
					b.Fatal(err)
				}
				if bc.encoding != "" {
					buf = data
				}
				var req logproto.PushRequest
				if err := d.Decode(data, bc.format, opts, &req); err != nil {
					b.Fatal(err)
				}
				if len(req.Streams) != 4 {
					b.Fatalf("%d streams", len(req.Streams))
				}
			}
		})
	}
}
