package querier

import (
	"cmp"
	"context"
	"slices"
	"strconv"

	"github.com/skald-logs/skald/pkg/logproto"
)

// staticLabels are kept whatever their values look like.
var staticLabels = map[string]bool{"cluster": true, "namespace": true, "instance": true, "pod": true}

// DetectedLabels returns the labels of the matching streams with the number
// of distinct values of each, from the ingesters and the store, as Loki's
// detected_labels does: a label whose values are all IDs (numbers or UUIDs;
// one or two values of 0 and 1 do not count as IDs) is left out, except
// cluster, namespace, instance and pod. The result is sorted by cardinality,
// highest first, then by name.
func (q *Querier) DetectedLabels(ctx context.Context, tenant string, r logproto.DetectedLabelsRequest) ([]logproto.DetectedLabel, error) {
	names, err := q.Labels(ctx, tenant, logproto.LabelRequest{Start: r.Start, End: r.End, Query: r.Query})
	if err != nil {
		return nil, err
	}
	out := make([]logproto.DetectedLabel, 0, len(names))
	for _, name := range names {
		values, err := q.Labels(ctx, tenant, logproto.LabelRequest{Name: name, Start: r.Start, End: r.End, Query: r.Query})
		if err != nil {
			return nil, err
		}
		if len(values) == 0 || !staticLabels[name] && allIDs(values) {
			continue
		}
		out = append(out, logproto.DetectedLabel{Label: name, Cardinality: uint64(len(values))})
	}
	slices.SortFunc(out, func(a, b logproto.DetectedLabel) int {
		if c := cmp.Compare(b.Cardinality, a.Cardinality); c != 0 {
			return c
		}
		return cmp.Compare(a.Label, b.Label)
	})
	return out, nil
}

// allIDs reports whether every value is a number or a UUID. One or two
// values that are all "0" or "1" are a boolean, not IDs.
func allIDs(values []string) bool {
	if len(values) <= 2 && !slices.ContainsFunc(values, func(v string) bool { return v != "0" && v != "1" }) {
		return false
	}
	for _, v := range values {
		if _, err := strconv.ParseFloat(v, 64); err != nil && !isUUID(v) {
			return false
		}
	}
	return true
}

// isUUID reports whether s is a UUID in one of the forms Google's uuid
// package parses: 8-4-4-4-12 hex digits, optionally in braces or after
// "urn:uuid:", or 32 hex digits.
func isUUID(s string) bool {
	switch len(s) {
	case 36:
	case 36 + 9:
		if !equalFoldASCII(s[:9], "urn:uuid:") {
			return false
		}
		s = s[9:]
	case 36 + 2:
		if s[0] != '{' || s[len(s)-1] != '}' {
			return false
		}
		s = s[1 : len(s)-1]
	case 32:
		for i := 0; i < len(s); i++ {
			if !isHex(s[i]) {
				return false
			}
		}
		return true
	default:
		return false
	}
	for i := 0; i < len(s); i++ {
		switch i {
		case 8, 13, 18, 23:
			if s[i] != '-' {
				return false
			}
		default:
			if !isHex(s[i]) {
				return false
			}
		}
	}
	return true
}

func isHex(c byte) bool { return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F' }

func equalFoldASCII(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		x, y := a[i], b[i]
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if 'A' <= y && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}
