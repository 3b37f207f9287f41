package index

import (
	"github.com/cespare/xxhash/v2"
	"github.com/prometheus/prometheus/model/labels"
)

// sep separates names and values in the fingerprint input. 0xff never
// occurs in valid UTF-8, so distinct label sets give distinct inputs.
var sep = []byte{0xff}

// Fingerprint returns the stable 64-bit identity of a sorted label set:
// XXH64 (seed 0) over name 0xff value 0xff for every label in order. It is
// part of the index format and of chunk object names; it must never change.
// Different label sets may collide; the index keeps the labels and compares
// them, so a collision never merges two series.
func Fingerprint(lbls labels.Labels) uint64 {
	d := xxhash.New()
	lbls.Range(func(l labels.Label) {
		_, _ = d.WriteString(l.Name)
		_, _ = d.Write(sep)
		_, _ = d.WriteString(l.Value)
		_, _ = d.Write(sep)
	})
	return d.Sum64()
}
