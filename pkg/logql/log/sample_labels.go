package log

import (
	"github.com/prometheus/prometheus/model/labels"
)

// sampleLabels is a scratch label set, sorted by name, whose strings may point
// into buffers that are valid only until the next entry.
type sampleLabels struct {
	ls []labels.Label
}

func (s *sampleLabels) get(name string) (string, bool) {
	for _, l := range s.ls {
		if l.Name == name {
			return l.Value, true
		}
	}
	return "", false
}

// set sets a label, keeping the set sorted.
func (s *sampleLabels) set(name, value string) {
	i := 0
	for i < len(s.ls) && s.ls[i].Name < name {
		i++
	}
	if i < len(s.ls) && s.ls[i].Name == name {
		s.ls[i].Value = value
		return
	}
	s.ls = append(s.ls, labels.Label{})
	copy(s.ls[i+1:], s.ls[i:])
	s.ls[i] = labels.Label{Name: name, Value: value}
}

// fromResult loads the labels of a processed entry: stream labels,
// structured metadata and parsed labels as one set. Should a name occur in
// more than one category, the later category wins (parsed over structured
// metadata over stream); labels with an empty value are left out, as an
// empty value means no label.
func (s *sampleLabels) fromResult(r *LabelsResult) {
	s.ls = s.ls[:0]
	r.Stream.Range(func(l labels.Label) { s.ls = append(s.ls, l) })
	for _, l := range r.StructuredMetadata {
		s.ls = append(s.ls, labels.Label{Name: l.Name, Value: l.Value})
	}
	for _, l := range r.Parsed {
		s.ls = append(s.ls, labels.Label{Name: l.Name, Value: l.Value})
	}
	// Insertion sort: stable, and each category is usually sorted already.
	ls := s.ls
	for i := 1; i < len(ls); i++ {
		for j := i; j > 0 && ls[j].Name < ls[j-1].Name; j-- {
			ls[j], ls[j-1] = ls[j-1], ls[j]
		}
	}
	out := ls[:0]
	for i, l := range ls {
		if i+1 < len(ls) && ls[i+1].Name == l.Name {
			continue // a later category has it
		}
		if l.Value != "" {
			out = append(out, l)
		}
	}
	s.ls = out
}
