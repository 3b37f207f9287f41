package syntax

import (
	"errors"
	"testing"
)

// FuzzParseRoundTrip parses any input: it must never panic, every error must
// be an ErrParse, and whatever parses must print to text that parses to the
// same tree and prints the same.
func FuzzParseRoundTrip(f *testing.F) {
	for _, tc := range validCases {
		f.Add(tc.in)
	}
	for _, tc := range invalidCases {
		f.Add(tc.in)
	}
	f.Fuzz(func(t *testing.T, in string) {
		expr, err := ParseExpr(in)
		if err != nil {
			if !errors.Is(err, ErrParse) {
				t.Fatalf("ParseExpr(%q): error %v is not an ErrParse", in, err)
			}
		} else {
			checkRoundTrip(t, expr)
		}

		sel, err := ParseLogSelector(in, false)
		if err != nil {
			if !errors.Is(err, ErrParse) {
				t.Fatalf("ParseLogSelector(%q): error %v is not an ErrParse", in, err)
			}
			return
		}
		s := sel.String()
		again, err := ParseLogSelector(s, false)
		if err != nil {
			t.Fatalf("String %q of log selector %q does not parse: %v", s, in, err)
		}
		if deepDump(again) != deepDump(sel) {
			t.Fatalf("String %q of %q parses to another tree", s, in)
		}
	})
}
