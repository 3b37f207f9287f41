package logproto

import (
	"errors"
	"fmt"
)

// Errors of the push decoders and the label parser. The API maps them to
// HTTP 400; their texts are meant to be shown to the client as they are.
var (
	// ErrMalformed marks a push body that cannot be decoded: bad snappy
	// framing, broken protobuf wire data, invalid JSON or a JSON value of
	// the wrong type. Nothing of such a request can be used.
	ErrMalformed = errors.New("malformed push request")
	// ErrInvalidLabels marks a stream label string that does not parse (see
	// LabelSyntaxError). Loki refuses the whole push in that case and
	// answers "couldn't parse labels: " followed by the error text.
	ErrInvalidLabels = errors.New("invalid labels")
	// ErrDuplicateLabelName marks a label string that names a label twice
	// (see DuplicateLabelError). Loki refuses only the stream, with
	// "stream '<labels>' has duplicate label name: '<name>'".
	ErrDuplicateLabelName = errors.New("duplicate label name")
)

// decodeError is a decoding failure whose text is exactly msg (so that it
// can match Loki's text, e.g. "snappy: corrupt input") while errors.Is still
// finds ErrMalformed and the underlying cause.
type decodeError struct {
	msg   string
	cause error
}

func (e *decodeError) Error() string { return e.msg }

func (e *decodeError) Unwrap() []error {
	if e.cause == nil {
		return []error{ErrMalformed}
	}
	return []error{ErrMalformed, e.cause}
}

func malformedf(format string, args ...any) error {
	return &decodeError{msg: fmt.Sprintf(format, args...)}
}

// LabelSyntaxError is a label string that does not parse. Its text has the
// shape of the Prometheus parser's errors, which Loki passes on to clients:
// "1:5: parse error: unexpected character inside braces: '-'". Line and
// Col are 1-based; Col counts bytes.
type LabelSyntaxError struct {
	Line, Col int
	Msg       string
}

func (e *LabelSyntaxError) Error() string {
	return fmt.Sprintf("%d:%d: parse error: %s", e.Line, e.Col, e.Msg)
}

// Unwrap returns ErrInvalidLabels.
func (e *LabelSyntaxError) Unwrap() error { return ErrInvalidLabels }

// DuplicateLabelError is a label string that names a label twice.
type DuplicateLabelError struct {
	Name string
}

func (e *DuplicateLabelError) Error() string {
	return "duplicate label name: '" + e.Name + "'"
}

// Unwrap returns ErrDuplicateLabelName.
func (e *DuplicateLabelError) Unwrap() error { return ErrDuplicateLabelName }
