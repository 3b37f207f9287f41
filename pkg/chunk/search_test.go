package chunk

import (
	"bytes"
	"math/rand/v2"
	"strings"
	"testing"
)

func TestFinder(t *testing.T) {
	ssh := strings.Join(readLines(t, "testdata/loghub/OpenSSH_2k.log"), "\n")
	tests := []struct{ text, lit string }{
		{"", "a"}, {"a", "a"}, {"ab", "b"}, {"abc", "abcd"}, {"xxabxx", "ab"},
		{"zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz1", "z1"},
		{strings.Repeat("Qa", 500) + "QQ", "QQ"}, // the rare byte is common here: the fallback
		{ssh, "Failed password for invalid user"},
		{ssh, "LabSZ sshd[24200]"},
		{ssh, "not in the log"},
		{ssh, ssh[len(ssh)-40:]},
		{ssh, ssh[:40]},
	}
	for _, tc := range tests {
		f := newFinder([]byte(tc.lit))
		if got, want := f.index([]byte(tc.text)), strings.Index(tc.text, tc.lit); got != want {
			t.Errorf("index of %.20q in %.20q: %d, want %d", tc.lit, tc.text, got, want)
		}
	}
	// Random texts over small alphabets, so that candidates are frequent.
	r := rand.New(rand.NewPCG(1, 2))
	for range 3000 {
		alpha := "abQ \n"[:1+r.IntN(5)]
		text := make([]byte, r.IntN(300))
		for i := range text {
			text[i] = alpha[r.IntN(len(alpha))]
		}
		lit := make([]byte, 1+r.IntN(6))
		for i := range lit {
			lit[i] = alpha[r.IntN(len(alpha))]
		}
		f := newFinder(lit)
		if got, want := f.index(text), bytes.Index(text, lit); got != want {
			t.Fatalf("index of %q in %q: %d, want %d", lit, text, got, want)
		}
	}
}
