package log

import (
	"fmt"
	"math"
	"strconv"
	"strings"
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
	b, err := sampleParseBytes(v)
	if err != nil {
		return 0, err
	}
	return float64(b), nil
}

// sampleByteUnits are the byte units of go-humanize's ParseBytes (which
// Loki uses), lower-cased: SI with and without a trailing b, IEC with and
// without it.
var sampleByteUnits = map[string]uint64{
	"": 1, "b": 1,
	"k": 1e3, "kb": 1e3, "ki": 1 << 10, "kib": 1 << 10,
	"m": 1e6, "mb": 1e6, "mi": 1 << 20, "mib": 1 << 20,
	"g": 1e9, "gb": 1e9, "gi": 1 << 30, "gib": 1 << 30,
	"t": 1e12, "tb": 1e12, "ti": 1 << 40, "tib": 1 << 40,
	"p": 1e15, "pb": 1e15, "pi": 1 << 50, "pib": 1 << 50,
	"e": 1e18, "eb": 1e18, "ei": 1 << 60, "eib": 1 << 60,
}

// sampleParseBytes reads a size such as 42, 1.5KiB or "20 MB" as go-humanize's
// ParseBytes does: a number (commas ignored), optional spaces, a unit.
func sampleParseBytes(s string) (uint64, error) {
	i := 0
	for i < len(s) && ('0' <= s[i] && s[i] <= '9' || s[i] == '.' || s[i] == ',') {
		i++
	}
	f, err := strconv.ParseFloat(strings.ReplaceAll(s[:i], ",", ""), 64)
	if err != nil {
		return 0, err
	}
	unit := strings.ToLower(strings.TrimSpace(s[i:]))
	m, ok := sampleByteUnits[unit]
	if !ok {
		return 0, fmt.Errorf("unhandled size name: %v", unit)
	}
	f *= float64(m)
	if f >= math.MaxUint64 {
		return 0, fmt.Errorf("too large: %v", s)
	}
	return uint64(f), nil
}
