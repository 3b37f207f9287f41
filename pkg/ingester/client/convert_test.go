package client

import (
	"errors"
	"testing"

	"github.com/prometheus/prometheus/model/labels"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/skald-logs/skald/pkg/logproto/pb"
	"github.com/skald-logs/skald/pkg/validation"
)

func TestMatchersRoundTrip(t *testing.T) {
	in := []*labels.Matcher{
		labels.MustNewMatcher(labels.MatchEqual, "app", "web"),
		labels.MustNewMatcher(labels.MatchNotEqual, "env", ""),
		labels.MustNewMatcher(labels.MatchRegexp, "pod", "web-.*"),
		labels.MustNewMatcher(labels.MatchNotRegexp, "ns", "kube|sys"),
	}
	out, err := FromMatchers(ToMatchers(in))
	if err != nil {
		t.Fatal(err)
	}
	for i := range in {
		if out[i].String() != in[i].String() {
			t.Errorf("matcher %d: %s, want %s", i, out[i], in[i])
		}
	}
	for _, bad := range []*pb.LabelMatcher{
		{Type: pb.MatchType_REGEX, Name: "a", Value: "("},
		{Type: 42, Name: "a", Value: "b"},
	} {
		if _, err := FromMatchers([]*pb.LabelMatcher{bad}); err == nil {
			t.Errorf("%v: no error", bad)
		}
	}
}

// TestErrorMapping: the status an ingester answers with comes back as an
// error of the same kind, with the message intact.
func TestErrorMapping(t *testing.T) {
	for _, tc := range []struct {
		err        error
		code       codes.Code
		is         error
		clientSide bool
	}{
		{invalid("entry too far behind"), codes.InvalidArgument, validation.ErrInvalid, true},
		{limited("stream limit"), codes.ResourceExhausted, validation.ErrRateLimited, true},
		{errors.New("disk full"), codes.Internal, nil, false},
		{ErrNoTenant, codes.Unauthenticated, nil, false},
	} {
		st := ToStatus(tc.err)
		if s, _ := status.FromError(st); s.Code() != tc.code {
			t.Errorf("%v: code %v, want %v", tc.err, s.Code(), tc.code)
		}
		back := fromStatus("ing:9095", st)
		if tc.is != nil && !errors.Is(back, tc.is) {
			t.Errorf("%v: back as %v, not %v", tc.err, back, tc.is)
		}
		if IsClientError(back) != tc.clientSide {
			t.Errorf("%v: client error %v", tc.err, IsClientError(back))
		}
		if tc.clientSide && back.Error() != tc.err.Error() {
			t.Errorf("message %q, want %q verbatim", back.Error(), tc.err.Error())
		}
	}
}

type invalid string

func (e invalid) Error() string        { return string(e) }
func (e invalid) Is(target error) bool { return target == validation.ErrInvalid }

type limited string

func (e limited) Error() string        { return string(e) }
func (e limited) Is(target error) bool { return target == validation.ErrRateLimited }
