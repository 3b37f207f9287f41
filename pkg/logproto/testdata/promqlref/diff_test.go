package main

import (
	"strconv"
	"strings"
	"testing"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/skald-logs/skald/pkg/logproto"
)

// skald returns Skald's parse of in, in the golden file's form.
func skald(in string) string {
	ls, err := logproto.ParseLabels(in)
	if dup, ok := err.(*logproto.DuplicateLabelError); ok {
		return "dup " + strconv.Quote(dup.Name)
	}
	if err != nil {
		return "err " + err.Error()
	}
	out := "ok"
	ls.Range(func(l labels.Label) {
		out += " " + strconv.Quote(l.Name) + " " + strconv.Quote(l.Value)
	})
	return out
}

// numberCase reports whether want and got are both errors at the same
// position for a number or duration outside braces, whose text ParseLabels
// only approximates.
func numberCase(want, got string) bool {
	wp, wm, _ := strings.Cut(want, ": parse error: ")
	gp, gm, _ := strings.Cut(got, ": parse error: ")
	return wp == gp && strings.HasPrefix(gm, "unexpected number") &&
		(strings.Contains(wm, "number") || strings.Contains(wm, "duration"))
}

func FuzzParseLabelsDiff(f *testing.F) {
	for _, c := range cases {
		f.Add(c)
	}
	f.Fuzz(func(t *testing.T, in string) {
		want, got := Reference(in), skald(in)
		if want != got && !numberCase(want, got) {
			t.Fatalf("ParseLabels(%q):\nprometheus: %s\nskald:      %s", in, want, got)
		}
	})
}
