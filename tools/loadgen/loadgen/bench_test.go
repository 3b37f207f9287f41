package loadgen

import (
	"testing"
	"time"

	"github.com/golang/snappy"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/skald-logs/skald/pkg/logproto/pb"
)

func BenchmarkGenerate(b *testing.B) {
	for _, k := range []Kind{KindAccess, KindJSON, KindLogfmt} {
		b.Run(k.String(), func(b *testing.B) {
			w := mustWorkload(b, WorkloadConfig{Streams: 1, Lines: 1 << 40, LineSize: 190, Kind: k, Span: 1000 * time.Hour})
			c := w.Cursor(0)
			var line []byte
			b.ReportAllocs()
			b.SetBytes(190)
			for b.Loop() {
				line, _, _ = c.Next(line[:0])
			}
		})
	}
}

// batch1000 is 1,000 generated lines over 20 streams, as the benchmark
// pushes them.
func batch1000(b *testing.B) (*Workload, [][][]byte, [][]int64, int64) {
	w := mustWorkload(b, WorkloadConfig{Streams: 20, Lines: 1000, LineSize: 190, Span: time.Hour})
	lines := make([][][]byte, 20)
	tss := make([][]int64, 20)
	var raw int64
	for s := range 20 {
		ls, ts := allLines(w, s)
		for _, l := range ls {
			lines[s] = append(lines[s], []byte(l))
			raw += int64(len(l))
		}
		tss[s] = ts
	}
	return w, lines, tss, raw
}

// BenchmarkEncodeBatch encodes a 1,000-line push body (snappy included).
func BenchmarkEncodeBatch(b *testing.B) {
	for _, f := range []Format{FormatProtobuf, FormatJSON} {
		b.Run(f.String(), func(b *testing.B) {
			w, lines, tss, raw := batch1000(b)
			e := NewEncoder(f)
			b.ReportAllocs()
			b.SetBytes(raw)
			for b.Loop() {
				e.Reset()
				for s := range lines {
					e.StartStream(&w.Streams()[s])
					for j, l := range lines[s] {
						e.Append(tss[s][j], l)
					}
					e.EndStream()
				}
				_ = e.Body()
			}
		})
	}
}

// BenchmarkEncodeBatchGenerated is the same body through the generated
// protobuf code, reusing the messages: the reason Encoder exists.
func BenchmarkEncodeBatchGenerated(b *testing.B) {
	w, lines, tss, raw := batch1000(b)
	req := &pb.PushRequest{}
	for s := range lines {
		st := &pb.StreamAdapter{Labels: w.Streams()[s].Labels}
		for range lines[s] {
			st.Entries = append(st.Entries, &pb.EntryAdapter{Timestamp: &timestamppb.Timestamp{}})
		}
		req.Streams = append(req.Streams, st)
	}
	var buf, out []byte
	b.ReportAllocs()
	b.SetBytes(raw)
	for b.Loop() {
		for s, st := range req.Streams {
			for j, e := range st.Entries {
				e.Timestamp.Seconds, e.Timestamp.Nanos = tss[s][j]/1e9, int32(tss[s][j]%1e9)
				e.Line = string(lines[s][j])
			}
		}
		var err error
		buf, err = proto.MarshalOptions{}.MarshalAppend(buf[:0], req)
		if err != nil {
			b.Fatal(err)
		}
		out = snappy.Encode(out[:cap(out)], buf)
	}
}
