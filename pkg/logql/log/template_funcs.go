package log

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math"
	"math/big"
	"net/url"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"text/template"
	"time"

	"github.com/skald-logs/skald/pkg/logql/syntax"
)

// Names of the template functions that read the entry.
const (
	funcLine      = "__line__"
	funcTimestamp = "__timestamp__"
)

// templateState is what the entry functions of one template instance read,
// and the steps its current execution took (template_limits.go).
type templateState struct {
	line  []byte
	ts    int64
	steps uint64
}

// entryFuncs returns __line__, __timestamp__ and the guards bound to st.
func entryFuncs(st *templateState) template.FuncMap {
	fs := template.FuncMap{
		funcLine:      func() string { return string(st.line) },
		funcTimestamp: func() time.Time { return time.Unix(0, st.ts) },
	}
	for name, f := range guardFuncs(st) {
		fs[name] = f
	}
	return fs
}

// templateFuncs are the functions of line_format and label_format: Loki's
// own and the Sprig functions Loki exposes, with their semantics.
var templateFuncs = template.FuncMap{
	// Deprecated Go-style names, with Go's argument order.
	"ToLower":    strings.ToLower,
	"ToUpper":    strings.ToUpper,
	"Replace":    replaceN,
	"Trim":       strings.Trim,
	"TrimLeft":   strings.TrimLeft,
	"TrimRight":  strings.TrimRight,
	"TrimPrefix": strings.TrimPrefix,
	"TrimSuffix": strings.TrimSuffix,
	"TrimSpace":  strings.TrimSpace,

	"regexReplaceAll": func(re, s, repl string) (string, error) {
		return regexReplace(re, s, repl, false)
	},
	"regexReplaceAllLiteral": func(re, s, repl string) (string, error) {
		return regexReplace(re, s, repl, true)
	},
	"count": func(re, s string) (int, error) {
		r, err := regexp.Compile(re)
		if err != nil {
			return 0, err
		}
		return len(r.FindAllStringIndex(s, -1)), nil
	},
	"urldecode":        url.QueryUnescape,
	"urlencode":        func(s string) (string, error) { return bounded(url.QueryEscape(s)) },
	"bytes":            convertBytes,
	"duration":         convertDuration,
	"duration_seconds": convertDuration,
	"unixEpochMillis":  func(t time.Time) string { return strconv.FormatInt(t.UnixMilli(), 10) },
	"unixEpochNanos":   func(t time.Time) string { return strconv.FormatInt(t.UnixNano(), 10) },
	"toDateInZone":     toDateInZone,
	"unixToTime":       unixToTime,
	"alignLeft":        alignLeft,
	"alignRight":       alignRight,

	// Sprig.
	"b64enc": func(s string) (string, error) {
		if err := checkSize(base64.StdEncoding.EncodedLen(len(s))); err != nil {
			return "", err
		}
		return base64.StdEncoding.EncodeToString([]byte(s)), nil
	},
	"b64dec":    b64dec,
	"lower":     strings.ToLower,
	"upper":     strings.ToUpper,
	"title":     strings.Title, //nolint:staticcheck // Sprig's title is strings.Title
	"trunc":     trunc,
	"substr":    substring,
	"contains":  func(sub, s string) bool { return strings.Contains(s, sub) },
	"hasPrefix": func(p, s string) bool { return strings.HasPrefix(s, p) },
	"hasSuffix": func(p, s string) bool { return strings.HasSuffix(s, p) },
	"indent":    indent,
	"nindent": func(n int, s string) (string, error) {
		s, err := indent(n, s)
		return "\n" + s, err
	},
	"replace":    func(old, repl, s string) (string, error) { return replaceN(s, old, repl, -1) },
	"repeat":     repeatString,
	"trim":       strings.TrimSpace,
	"trimAll":    func(cut, s string) string { return strings.Trim(s, cut) },
	"trimSuffix": func(suf, s string) string { return strings.TrimSuffix(s, suf) },
	"trimPrefix": func(pre, s string) string { return strings.TrimPrefix(s, pre) },
	"int":        func(v any) int { return int(toInt64(v)) },
	"float64":    toFloat64,
	"add": func(vs ...any) int64 {
		var a int64
		for _, v := range vs {
			a += toInt64(v)
		}
		return a
	},
	"sub": func(a, b any) int64 { return toInt64(a) - toInt64(b) },
	"mul": func(a any, vs ...any) int64 {
		r := toInt64(a)
		for _, v := range vs {
			r *= toInt64(v)
		}
		return r
	},
	"div":  func(a, b any) int64 { return toInt64(a) / toInt64(b) },
	"mod":  func(a, b any) int64 { return toInt64(a) % toInt64(b) },
	"addf": func(vs ...any) float64 { return decimalOp(float64(0), vs, (*big.Rat).Add) },
	"subf": func(a any, vs ...any) float64 { return decimalOp(a, vs, (*big.Rat).Sub) },
	"mulf": func(a any, vs ...any) float64 { return decimalOp(a, vs, (*big.Rat).Mul) },
	"divf": func(a any, vs ...any) float64 { return decimalOp(a, vs, decimalDiv) },
	"max": func(a any, vs ...any) int64 {
		r := toInt64(a)
		for _, v := range vs {
			r = max(r, toInt64(v))
		}
		return r
	},
	"min": func(a any, vs ...any) int64 {
		r := toInt64(a)
		for _, v := range vs {
			r = min(r, toInt64(v))
		}
		return r
	},
	"maxf": func(a any, vs ...any) float64 {
		r := toFloat64(a)
		for _, v := range vs {
			r = math.Max(r, toFloat64(v))
		}
		return r
	},
	"minf": func(a any, vs ...any) float64 {
		r := toFloat64(a)
		for _, v := range vs {
			r = math.Min(r, toFloat64(v))
		}
		return r
	},
	"ceil":  func(a any) float64 { return math.Ceil(toFloat64(a)) },
	"floor": func(a any) float64 { return math.Floor(toFloat64(a)) },
	"round": round,
	"fromJson": func(s string) any {
		var v any
		_ = json.Unmarshal([]byte(s), &v)
		return v
	},
	"date":      func(layout string, t any) (string, error) { return bounded(dateInZone(layout, t, "Local")) },
	"toDate":    func(layout, s string) time.Time { t, _ := time.ParseInLocation(layout, s, time.Local); return t },
	"now":       time.Now,
	"unixEpoch": func(t time.Time) string { return strconv.FormatInt(t.Unix(), 10) },
	"default":   dfault,
}

func convertBytes(v string) (float64, error) {
	b, err := syntax.ParseBytes(v)
	if err != nil {
		return 0, err
	}
	return float64(b), nil
}

func convertDuration(v string) (float64, error) {
	d, err := time.ParseDuration(v)
	if err != nil {
		return 0, err
	}
	return d.Seconds(), nil
}

func b64dec(s string) string {
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return err.Error()
	}
	return string(b)
}

// unixToTime reads epoch days (5 digits), seconds (10), milliseconds (13),
// microseconds (16) or nanoseconds (19).
func unixToTime(epoch string) (time.Time, error) {
	i, err := strconv.ParseInt(epoch, 10, 64)
	if err != nil {
		return time.Time{}, fmt.Errorf("unable to parse time '%v': %w", epoch, err)
	}
	switch len(epoch) {
	case 5:
		return time.Unix(i*86400, 0), nil
	case 10:
		return time.Unix(i, 0), nil
	case 13:
		return time.Unix(0, i*1e6), nil
	case 16:
		return time.Unix(0, i*1e3), nil
	case 19:
		return time.Unix(0, i), nil
	}
	return time.Time{}, fmt.Errorf("unable to parse time '%v': %w", epoch, err)
}

func toDateInZone(layout, zone, s string) time.Time {
	loc, err := time.LoadLocation(zone)
	if err != nil {
		loc = time.UTC
	}
	t, _ := time.ParseInLocation(layout, s, loc)
	return t
}

func dateInZone(layout string, date any, zone string) string {
	t := time.Now()
	switch d := date.(type) {
	case time.Time:
		t = d
	case *time.Time:
		t = *d
	case int64:
		t = time.Unix(d, 0)
	case int:
		t = time.Unix(int64(d), 0)
	case int32:
		t = time.Unix(int64(d), 0)
	}
	loc, err := time.LoadLocation(zone)
	if err != nil {
		loc = time.UTC
	}
	return t.In(loc).Format(layout)
}

// trunc keeps the first c runes of s, or the last -c when c is negative.
func trunc(c int, s string) string {
	r := []rune(s)
	n := len(r)
	if c < 0 && n+c > 0 {
		return string(r[n+c:])
	}
	if c >= 0 && n > c {
		return string(r[:c])
	}
	return s
}

// substring returns runes [start, end) of s, clamped as Loki does.
func substring(start, end int, s string) string {
	r := []rune(s)
	n := len(r)
	end = min(end, n)
	start = min(start, n)
	if start < 0 {
		if end < 0 {
			return ""
		}
		return string(r[:end])
	}
	if end < 0 {
		return string(r[start:])
	}
	if start > end {
		return ""
	}
	return string(r[start:end])
}

func alignLeft(n int, s string) (string, error) {
	if err := checkPad(n, s); err != nil {
		return "", err
	}
	r := []rune(s)
	if n < 0 || n == len(r) {
		return s, nil
	}
	if n > len(r) {
		return s + strings.Repeat(" ", n-len(r)), nil
	}
	return string(r[:n]), nil
}

func alignRight(n int, s string) (string, error) {
	if err := checkPad(n, s); err != nil {
		return "", err
	}
	r := []rune(s)
	if n < 0 || n == len(r) {
		return s, nil
	}
	if n > len(r) {
		return strings.Repeat(" ", n-len(r)) + s, nil
	}
	return string(r[len(r)-n:]), nil
}

func indent(n int, s string) (string, error) {
	if err := checkIndent(n, s); err != nil {
		return "", err
	}
	pad := strings.Repeat(" ", n)
	return pad + strings.ReplaceAll(s, "\n", "\n"+pad), nil
}

// round rounds a to p decimal places, up from roundOn (.5 by default).
func round(a any, p int, rOpt ...float64) float64 {
	roundOn := .5
	if len(rOpt) > 0 {
		roundOn = rOpt[0]
	}
	pow := math.Pow(10, float64(p))
	digit := pow * toFloat64(a)
	_, frac := math.Modf(digit)
	if frac >= roundOn {
		return math.Ceil(digit) / pow
	}
	return math.Floor(digit) / pow
}

// dfault returns d when given is missing or empty (Sprig's default).
func dfault(d any, given ...any) any {
	if len(given) == 0 || isEmpty(given[0]) {
		return d
	}
	return given[0]
}

func isEmpty(v any) bool {
	rv := reflect.ValueOf(v)
	if !rv.IsValid() {
		return true
	}
	switch rv.Kind() {
	case reflect.Array, reflect.Map, reflect.Slice, reflect.String:
		return rv.Len() == 0
	case reflect.Bool:
		return !rv.Bool()
	case reflect.Complex64, reflect.Complex128:
		return rv.Complex() == 0
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return rv.Int() == 0
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return rv.Uint() == 0
	case reflect.Float32, reflect.Float64:
		return rv.Float() == 0
	case reflect.Interface, reflect.Pointer:
		return rv.IsNil()
	case reflect.Struct:
		if t, ok := v.(time.Time); ok {
			return t.IsZero()
		}
	}
	return false
}

// toInt64 converts like spf13/cast (used by Sprig): numbers are truncated,
// strings parsed as integers (base prefixes allowed, ".0" tails ignored),
// anything else is 0.
func toInt64(v any) int64 {
	switch x := v.(type) {
	case int:
		return int64(x)
	case int8:
		return int64(x)
	case int16:
		return int64(x)
	case int32:
		return int64(x)
	case int64:
		return x
	case uint:
		return int64(x)
	case uint8:
		return int64(x)
	case uint16:
		return int64(x)
	case uint32:
		return int64(x)
	case uint64:
		return int64(x)
	case float32:
		return int64(x)
	case float64:
		return int64(x)
	case bool:
		if x {
			return 1
		}
		return 0
	case string:
		n, err := strconv.ParseInt(trimZeroDecimal(x), 0, 0)
		if err != nil {
			return 0
		}
		return n
	case json.Number:
		n, _ := x.Int64()
		return n
	}
	return 0
}

// trimZeroDecimal drops a ".000" tail: "3.0" reads as 3, "3.5" does not.
func trimZeroDecimal(s string) string {
	i := strings.IndexByte(s, '.')
	if i < 0 || i == len(s)-1 {
		return s
	}
	if strings.Trim(s[i+1:], "0") != "" {
		return s
	}
	return s[:i]
}

// toFloat64 converts like spf13/cast: strings are parsed, anything else
// that is not a number or bool is 0.
func toFloat64(v any) float64 {
	switch x := v.(type) {
	case float64:
		return x
	case float32:
		return float64(x)
	case string:
		f, err := strconv.ParseFloat(x, 64)
		if err != nil {
			return 0
		}
		return f
	case bool:
		if x {
			return 1
		}
		return 0
	case json.Number:
		f, _ := x.Float64()
		return f
	}
	return float64(toInt64(v))
}

// decimalOp folds vs into a with op in decimal arithmetic, as Sprig's
// float functions do (so that 0.1 + 0.2 is 0.3): every operand is taken at
// its shortest decimal form.
func decimalOp(a any, vs []any, op func(z, x, y *big.Rat) *big.Rat) float64 {
	r := decimalOf(toFloat64(a))
	for _, v := range vs {
		op(r, r, decimalOf(toFloat64(v)))
	}
	f, _ := r.Float64()
	return f
}

func decimalOf(f float64) *big.Rat {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		panic(fmt.Sprintf("Cannot create a Decimal from %v", f))
	}
	r, _ := new(big.Rat).SetString(strconv.FormatFloat(f, 'g', -1, 64))
	return r
}

// decimalDiv divides with 16 decimal places, rounding half away from zero,
// like shopspring/decimal's Div.
func decimalDiv(z, x, y *big.Rat) *big.Rat {
	if y.Sign() == 0 {
		panic("decimal division by zero")
	}
	q := new(big.Rat).Quo(x, y)
	scale := new(big.Int).Exp(big.NewInt(10), big.NewInt(16), nil)
	n := new(big.Int).Mul(q.Num(), scale)
	d := q.Denom()
	quo, rem := new(big.Int).QuoRem(n, d, new(big.Int))
	if new(big.Int).Mul(new(big.Int).Abs(rem), big.NewInt(2)).Cmp(d) >= 0 {
		if n.Sign() < 0 {
			quo.Sub(quo, big.NewInt(1))
		} else {
			quo.Add(quo, big.NewInt(1))
		}
	}
	return z.SetFrac(quo, scale)
}
