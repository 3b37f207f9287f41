package ingester

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"testing"

	"github.com/skald-logs/skald/pkg/logproto"
	"github.com/skald-logs/skald/pkg/validation"
)

func limitsWithMaxStreams(n int) *validation.Overrides {
	var l validation.Limits
	l.RegisterFlags(flag.NewFlagSet("limits", flag.PanicOnError))
	l.MaxGlobalStreamsPerUser = n
	return validation.NewOverrides(l, nil)
}

// A stream refused by the tenant's stream limit does not take the other
// streams of the push with it: they are appended, wherever they are in the
// request, and the push is answered with the limit's 429.
func TestPushStreamLimitKeepsOtherStreams(t *testing.T) {
	for _, tc := range []struct {
		name  string
		order []string // streams of the second push; "new" is over the limit
	}{
		{"refused stream first", []string{"new", "a", "b"}},
		{"refused stream between", []string{"a", "new", "b"}},
		{"refused stream last", []string{"a", "b", "new"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ing, err := New(testConfig(""), limitsWithMaxStreams(2), newFakeStore(), nil, nil)
			if err != nil {
				t.Fatal(err)
			}
			if err := ing.Recover(context.Background()); err != nil {
				t.Fatal(err)
			}
			p := &pusher{t: t, ing: ing, base: base}
			p.mustPush([]string{"a", "b"}, 2) // the tenant's two streams

			req := &logproto.PushRequest{}
			var want []line
			for k, s := range tc.order {
				l := line{stream: s, ts: base + int64(100+k), text: fmt.Sprintf("%s later %d", s, k)}
				req.Streams = append(req.Streams, logproto.Stream{
					Labels:  fmt.Sprintf(`{app="test", s=%q}`, s),
					Entries: []logproto.Entry{{Timestamp: l.ts, Line: l.text}},
				})
				if s != "new" {
					want = append(want, l)
				}
			}
			err = ing.Push(context.Background(), "tenant", req)
			if !errors.Is(err, validation.ErrRateLimited) {
				t.Fatalf("push with a stream over the limit: %v, want a rate-limit error", err)
			}
			exactlyOnce(t, "memory", memEntries(t, ing), append(p.acked, want...))
			if err := ing.Stop(context.Background()); err != nil {
				t.Fatal(err)
			}
		})
	}
}
