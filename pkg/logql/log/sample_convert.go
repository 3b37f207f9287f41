package log

import (
	"fmt"
	"strconv"
	"time"

	"github.com/skald-logs/skald/pkg/logql/syntax"
)

// sampleExtractionErr is the __error__ value of a sample whose unwrapped
// label does not convert to a number, as Loki spells it.
const sampleExtractionErr = "SampleExtractionErr"

// sampleConverter turns the value of an unwrapped label into a sample value.
type sampleConverter func(string) (float64, error)

// newSampleConverter returns the conversion of `| unwrap` (conv ""),
// `unwrap bytes(…)`, `duration(…)` or `duration_seconds(…)`.
func newSampleConverter(conv string) (sampleConverter, error) {
	switch conv {
	case "":
		return sampleConvertFloat, nil
	case syntax.OpConvBytes:
		return sampleConvertBytes, nil
	case syntax.OpConvDuration, syntax.OpConvDurationSeconds:
		return sampleConvertDuration, nil
	}
	return nil, fmt.Errorf("%w: unwrap conversion %q", ErrUnsupported, conv)
}

func sampleConvertFloat(v string) (float64, error) { return strconv.ParseFloat(v, 64) }

// sampleConvertDuration reads a Go duration (1.5s, 250ms) as seconds.
func sampleConvertDuration(v string) (float64, error) {
	d, err := time.ParseDuration(v)
	if err != nil {
		return 0, err
	}
	return d.Seconds(), nil
}

func sampleConvertBytes(v string) (float64, error) {
	b, err := syntax.ParseBytes(v)
	if err != nil {
		return 0, err
	}
	return float64(b), nil
}
