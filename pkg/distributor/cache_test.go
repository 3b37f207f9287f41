package distributor

import (
	"context"
	"testing"
	"unsafe"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/skald-logs/skald/pkg/logproto"
)

// within reports whether s lies in the memory of buf.
func within(s, buf string) bool {
	if len(s) == 0 || len(buf) == 0 {
		return false
	}
	p, start := uintptr(unsafe.Pointer(unsafe.StringData(s))), uintptr(unsafe.Pointer(unsafe.StringData(buf)))
	return p >= start && p < start+uintptr(len(buf))
}

// The stream cache keeps no reference to a request: decoded pushes alias
// one copy of the whole body, which a cached label string would keep alive
// for as long as the entry lives (up to the cache's 65536 entries, each
// holding a different body).
func TestStreamCacheKeepsNoRequestMemory(t *testing.T) {
	d, _ := newTestDistributor(t, nil)
	lbls := `{app="api", level="warn"}`
	body := string(append([]byte(lbls), make([]byte, 1<<20)...)) // the rest of a large body
	err := d.Push(context.Background(), "fake", &logproto.PushRequest{Streams: []logproto.Stream{
		{Labels: body[:len(lbls)], Entries: []logproto.Entry{entry(testNow, "x")}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for raw, info := range d.streams.tenants["fake"] {
		n++
		if within(raw, body) || within(info.key, body) || within(info.level, body) {
			t.Errorf("cached stream %s refers to the request body", raw)
		}
		info.lbls.Range(func(l labels.Label) {
			if within(l.Name, body) || within(l.Value, body) {
				t.Errorf("cached stream %s: label %s refers to the request body", raw, l.Name)
			}
		})
	}
	if n != 1 {
		t.Fatalf("%d cached streams, want 1", n)
	}
}
