package logql

import (
	"context"
	"log/slog"
	"slices"
	"testing"
	"time"

	"github.com/prometheus/common/model"

	"github.com/skald-logs/skald/pkg/logproto"
	"github.com/skald-logs/skald/pkg/validation"
)

// lookbackEngine is an engine over q whose tenants may look back 60 s from
// its clock, fixed at 1000 s.
func lookbackEngine(q Querier) *Engine {
	lim := validation.Limits{MaxQuerySeries: 500, MaxQueryLookback: model.Duration(time.Minute)}
	e := NewEngine(q, validation.NewOverrides(lim, nil), slog.New(slog.DiscardHandler))
	e.now = func() time.Time { return time.Unix(1000, 0) }
	return e
}

func TestEngineMaxQueryLookback(t *testing.T) {
	streams := []memStream{
		stream(`{app="a"}`, "900 old", "930 older than 940", "950 recent", "990 newest"),
		stream(`{app="b"}`, "939.999 just out", "940 just in"),
	}
	logLines := func(r Result) []string {
		var out []string
		for _, s := range r.Streams {
			for _, e := range s.Entries {
				out = append(out, e.Line)
			}
		}
		slices.Sort(out)
		return out
	}
	for _, tc := range []struct {
		name string
		p    Params
		want string // formatResult, or the sorted lines of a log result
	}{
		{"log query", Params{Query: `{app=~"a|b"}`, Start: 0, End: sec(1001), Limit: 100, Direction: logproto.Forward},
			"[just in newest recent]"},
		{"log query entirely older", Params{Query: `{app=~"a|b"}`, Start: 0, End: sec(939), Limit: 100, Direction: logproto.Forward},
			"[]"},
		// The window of an instant query reaches back 100 s; it reads only
		// the last 60.
		{"instant metric query", instantParams(`sum(count_over_time({app=~"a|b"}[100s]))`, 1000),
			"{} 1000=3\n"},
		{"range metric query", rangeParams(`count_over_time({app="a"}[30s])`, 940, 1000, 20),
			"{app=\"a\"} 960=1 1000=1\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for name, src := range sources(streams) {
				res, err := lookbackEngine(src).Query(context.Background(), "t", tc.p)
				if err != nil {
					t.Fatalf("%s: %v", name, err)
				}
				got := formatResult(res)
				if res.Type == ValueStreams {
					got = fmtLines(logLines(res))
				}
				if got != tc.want {
					t.Errorf("%s: got %q, want %q", name, got, tc.want)
				}
			}
		})
	}
}

func fmtLines(lines []string) string {
	if lines == nil {
		lines = []string{}
	}
	out := "["
	for i, l := range lines {
		if i > 0 {
			out += " "
		}
		out += l
	}
	return out + "]"
}
