package client

import (
	"fmt"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/skald-logs/skald/pkg/logproto"
	"github.com/skald-logs/skald/pkg/logproto/pb"
)

// ToMatchers converts label matchers to their wire form.
func ToMatchers(ms []*labels.Matcher) []*pb.LabelMatcher {
	out := make([]*pb.LabelMatcher, len(ms))
	for i, m := range ms {
		var t pb.MatchType
		switch m.Type {
		case labels.MatchEqual:
			t = pb.MatchType_EQUAL
		case labels.MatchNotEqual:
			t = pb.MatchType_NOT_EQUAL
		case labels.MatchRegexp:
			t = pb.MatchType_REGEX
		case labels.MatchNotRegexp:
			t = pb.MatchType_NOT_REGEX
		}
		out[i] = &pb.LabelMatcher{Type: t, Name: m.Name, Value: m.Value}
	}
	return out
}

// FromMatchers converts wire matchers back; a bad regular expression is an
// error.
func FromMatchers(ms []*pb.LabelMatcher) ([]*labels.Matcher, error) {
	out := make([]*labels.Matcher, len(ms))
	for i, m := range ms {
		var t labels.MatchType
		switch m.GetType() {
		case pb.MatchType_EQUAL:
			t = labels.MatchEqual
		case pb.MatchType_NOT_EQUAL:
			t = labels.MatchNotEqual
		case pb.MatchType_REGEX:
			t = labels.MatchRegexp
		case pb.MatchType_NOT_REGEX:
			t = labels.MatchNotRegexp
		default:
			return nil, fmt.Errorf("unknown match type %d", m.GetType())
		}
		lm, err := labels.NewMatcher(t, m.GetName(), m.GetValue())
		if err != nil {
			return nil, err
		}
		out[i] = lm
	}
	return out, nil
}

// ToPairs converts name/value pairs to their wire form.
func ToPairs(ps []logproto.LabelAdapter) []*pb.LabelPairAdapter {
	if len(ps) == 0 {
		return nil
	}
	out := make([]*pb.LabelPairAdapter, len(ps))
	vals := make([]pb.LabelPairAdapter, len(ps))
	for i, p := range ps {
		vals[i].Name, vals[i].Value = p.Name, p.Value
		out[i] = &vals[i]
	}
	return out
}

func fromPairs(ps []*pb.LabelPairAdapter) []logproto.LabelAdapter {
	if len(ps) == 0 {
		return nil
	}
	out := make([]logproto.LabelAdapter, len(ps))
	for i, p := range ps {
		out[i] = logproto.LabelAdapter{Name: p.GetName(), Value: p.GetValue()}
	}
	return out
}

// labelsCache parses the label strings of one response stream once.
type labelsCache map[string]labels.Labels

func (c labelsCache) get(s string) (labels.Labels, error) {
	if l, ok := c[s]; ok {
		return l, nil
	}
	l, err := logproto.ParseLabels(s)
	if err != nil {
		return labels.EmptyLabels(), fmt.Errorf("bad labels %q from ingester: %w", s, err)
	}
	c[s] = l
	return l, nil
}
