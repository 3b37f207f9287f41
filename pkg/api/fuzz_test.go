package api

import (
	"bytes"
	"encoding/json"
	"math"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/skald-logs/skald/pkg/logproto"
)

func FuzzParseTimestamp(f *testing.F) {
	for _, s := range []string{"", "0", "1700000000", "4000000000", "10000000001", "1700000000123456789", "1700000000.123",
		"-1.5", "1.5e3", "2026-11-23T15:41:36Z", "2025-11-18T05:20:48.538Z", "abc", "9999999999.9999", "1e400.0", "0x1.8p1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := parseTimestamp(s, 42)
		if s == "" {
			if got != 42 || err != nil {
				t.Fatalf("empty: %d %v", got, err)
			}
			return
		}
		if err != nil {
			return
		}
		if _, rfcErr := time.Parse(time.RFC3339Nano, s); rfcErr == nil {
			return
		}
		if !strings.Contains(s, ".") {
			v, err := strconv.ParseInt(s, 10, 64)
			if err != nil {
				t.Fatalf("%q accepted but is not an integer", s)
			}
			want := v
			if v <= 1e10 {
				want = satMul(v, 1e9)
			}
			if got != want {
				t.Fatalf("%q = %d, want %d", s, got, want)
			}
			return
		}
		v, err := strconv.ParseFloat(s, 64)
		if err != nil {
			t.Fatalf("%q accepted but is not a float", s)
		}
		if math.Abs(v) <= 1e9 {
			// Seconds, rounded to the millisecond.
			if diff := math.Abs(float64(got) - v*1e9); diff > 1e6 {
				t.Fatalf("%q = %d, off by %v ns", s, got, diff)
			}
		}
	})
}

func FuzzParseSecondsOrDuration(f *testing.F) {
	for _, s := range []string{"60", "0.5", "2000ms", "1m30s", "1d", "0", "-10", "abc", "1e300", "NaN", "Inf", "1y2w3d4h5m6s7ms"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := parseSecondsOrDuration(s)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "cannot parse "+strconv.Quote(s)+" to a valid duration") {
				t.Fatalf("%q: unexpected error text %q", s, err)
			}
			return
		}
		if v, ferr := strconv.ParseFloat(s, 64); ferr == nil {
			if math.IsNaN(v) {
				t.Fatalf("%q: NaN accepted as %d", s, got)
			}
			if diff := math.Abs(float64(got) - v*1e9); diff > math.Max(1, math.Abs(v*1e9)*1e-15) {
				t.Fatalf("%q = %d, off by %v", s, got, diff)
			}
			return
		}
		if got < 0 {
			t.Fatalf("%q: negative Prometheus duration %d", s, got)
		}
	})
}

// Every string must encode to valid JSON that decodes to what
// encoding/json decodes its own encoding to (invalid UTF-8 as U+FFFD).
func FuzzAppendString(f *testing.F) {
	for _, s := range []string{"", "plain", `a"b\c`, "\x00\n\t\x7f", "<a>&", "héllo", "bad\xff", "\u2028\u2029", "\xed\xa0\x80"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ref, err := json.Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		var want string
		if err := json.Unmarshal(ref, &want); err != nil {
			t.Fatal(err)
		}
		for _, html := range []bool{false, true} {
			out := appendString(nil, s, html)
			if !utf8.Valid(out) {
				t.Fatalf("%q (html %v): invalid UTF-8 output %q", s, html, out)
			}
			var got string
			if err := json.Unmarshal(out, &got); err != nil {
				t.Fatalf("%q (html %v): invalid JSON %q: %v", s, html, out, err)
			}
			if got != want {
				t.Fatalf("%q (html %v): decodes to %q, want %q", s, html, got, want)
			}
			if html && bytes.ContainsAny(out, "<>&") {
				t.Fatalf("%q: unescaped HTML in %q", s, out)
			}
		}
	})
}

// Whatever the query string, the range parser either refuses it with a
// 400 or returns parameters the engine can rely on.
func FuzzParseRangeParams(f *testing.F) {
	for _, s := range []string{"", "start=1&end=2", "start=0&end=11001&step=1", "step=-1", "limit=0", "since=1h&end=4000000000",
		"start=2026-11-23T15:41:36Z&step=2000ms&interval=1.5&direction=FORWARD", "end=-9223372036854775808&start=9223372036854775807"} {
		f.Add(s)
	}
	a := New(DefaultConfig(), Deps{}, nil, nil, nil)
	f.Fuzz(func(t *testing.T, raw string) {
		values, err := url.ParseQuery(raw)
		if err != nil {
			return
		}
		p, err := a.parseRangeParams(&http.Request{Form: values}, testNow)
		if err != nil {
			if status, _ := statusAndMessage(err); status != http.StatusBadRequest {
				t.Fatalf("%q: error %v maps to %d", raw, err, status)
			}
			return
		}
		if p.end < p.start || p.step <= 0 || p.limit == 0 || p.interval < 0 {
			t.Fatalf("%q: accepted inconsistent %+v", raw, p)
		}
		if satSub(p.end, p.start)/p.step > int64(a.cfg.MaxQueryPoints) {
			t.Fatalf("%q: too many points accepted: %+v", raw, p)
		}
	})
}

// Arbitrary bodies and encodings never crash the push path, and nothing
// larger than the limits reaches a decoder.
func FuzzPushBody(f *testing.F) {
	f.Add([]byte("line"), uint8(0))
	f.Add([]byte(gzipped(f, "hello")), uint8(4))
	f.Add([]byte(deflated(f, "hello")), uint8(6))
	f.Add([]byte{0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff}, uint8(4))
	fx := newFixture(f, func(c *Config) {
		c.MaxRecvMsgSize = 1 << 10
		c.MaxDecompressedSize = 4 << 10
	})
	var decoded int64
	check := func(b []byte) {
		if int64(len(b)) > fx.api.cfg.MaxDecompressedSize {
			decoded = int64(len(b))
		}
	}
	fx.api.decoders = pushDecoders{
		snappyProto: func(b []byte, _ *logproto.PushRequest) error { check(b); return nil },
		json:        func(b []byte, _ *logproto.PushRequest) error { check(b); return nil },
		legacyJSON:  func(b []byte, _ *logproto.PushRequest) error { check(b); return nil },
	}
	encodings := []string{"", "snappy", "gzip", "deflate", "br"}
	f.Fuzz(func(t *testing.T, body []byte, enc uint8) {
		r := httptest.NewRequest(http.MethodPost, "/loki/api/v1/push", bytes.NewReader(body))
		r.Header.Set("Content-Type", []string{"application/json", "application/x-protobuf"}[enc&1])
		if e := encodings[int(enc>>1)%len(encodings)]; e != "" {
			r.Header.Set("Content-Encoding", e)
		}
		w := httptest.NewRecorder()
		fx.api.Handler().ServeHTTP(w, r)
		if decoded != 0 {
			t.Fatalf("decoder saw %d bytes, over the limit", decoded)
		}
		switch w.Code {
		case http.StatusNoContent, http.StatusBadRequest, http.StatusRequestEntityTooLarge, http.StatusUnprocessableEntity:
		default:
			t.Fatalf("status %d %q", w.Code, w.Body.String())
		}
	})
}
