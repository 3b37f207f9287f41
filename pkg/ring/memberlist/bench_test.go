package memberlist

import (
	"strconv"
	"testing"
	"time"

	"github.com/skald-logs/skald/pkg/ring"
)

// BenchmarkReceiveHeartbeat measures what a member does with each gossiped
// heartbeat: decode the entry (128 tokens), merge it into a ring of 100
// instances, wake watchers and queue it on.
func BenchmarkReceiveHeartbeat(b *testing.B) {
	kv, err := New(testConfig(), discardLogger(), nil)
	if err != nil {
		b.Fatal(err)
	}
	kv.tune = fastFailureDetection
	if err := kv.Start(b.Context()); err != nil {
		b.Fatal(err)
	}
	defer kv.Stop()

	d := ring.NewDesc()
	for i := range 100 {
		d.AddInstance(ring.InstanceDesc{ID: "ingester-" + strconv.Itoa(i), Addr: "10.0.0.1:9095", State: ring.Active,
			Tokens: ring.GenerateTokens(128, d.TakenTokens("")), Timestamp: time.Now().UnixMilli()})
	}
	kv.merge(ring.IngesterRingKey, d, false)
	hb := d.Instances["ingester-7"]
	msgs := make([][]byte, b.N)
	for i := range msgs {
		hb.Timestamp++
		msgs[i], _ = appendMessage(nil, ring.IngesterRingKey, &ring.Desc{Instances: map[string]ring.InstanceDesc{hb.ID: hb}})
	}
	dl := (*delegate)(kv)
	b.SetBytes(int64(len(msgs[0])))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		dl.NotifyMsg(msgs[i])
	}
}
