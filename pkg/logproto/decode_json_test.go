package logproto

import (
	"errors"
	"fmt"
	"math"
	"os"
	"strconv"
	"strings"
	"testing"
)

func TestUnmarshalJSONPushRequestSample(t *testing.T) {
	// The body pushed to a real Loki 3.7 for the reference captures.
	b, err := os.ReadFile("testdata/push-body.json")
	if err != nil {
		t.Fatal(err)
	}
	var got PushRequest
	if err := UnmarshalJSONPushRequest(b, &got); err != nil {
		t.Fatal(err)
	}
	want := PushRequest{Streams: []Stream{
		{Labels: `{app="api", job="smoke", level="info"}`, Entries: []Entry{
			{Timestamp: 1795448466000000000, Line: "GET /users 200 12ms"},
			{Timestamp: 1795448476000000000, Line: "GET /orders 200 8ms"},
			{Timestamp: 1795448486000000000, Line: "POST /orders 201 30ms", StructuredMetadata: []LabelAdapter{{"trace_id", "abc123"}, {"user", "u1"}}},
		}},
		{Labels: `{app="api", job="smoke", level="error"}`, Entries: []Entry{
			{Timestamp: 1795448471000000000, Line: "GET /users 500 db timeout"},
			{Timestamp: 1795448491000000000, Line: "POST /orders 503 upstream down"},
		}},
		{Labels: `{app="worker", job="smoke"}`, Entries: []Entry{
			{Timestamp: 1795448481000000000, Line: `{"msg":"job done","dur_ms":120,"status":"ok"}`},
			{Timestamp: 1795448484000000000, Line: `{"msg":"job failed","dur_ms":340,"status":"err"}`},
		}},
	}}
	if d := diffRequests(&got, &want); d != "" {
		t.Fatal(d)
	}
	for _, s := range got.Streams {
		if _, err := ParseLabels(s.Labels); err != nil {
			t.Errorf("ParseLabels(%s): %v", s.Labels, err)
		}
	}
}

func TestUnmarshalJSONPushRequest(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		want     []Stream
	}{
		{"empty streams", `{"streams":[]}`, nil},
		{"null body", ` null `, nil},
		{"no streams key", `{"other":{"x":[1,2,{"y":null}]}}`, nil},
		{"null streams and entries", `{"streams":[null,{"stream":{"a":"b"},"values":[null,["1","x"]]},{"stream":null,"values":null}]}`,
			[]Stream{{Labels: `{a="b"}`, Entries: []Entry{{Timestamp: 1, Line: "x"}}}, {Labels: `{}`}}},
		{"missing stream", `{"streams":[{"values":[["1","x"]]}]}`, []Stream{{Labels: `{}`, Entries: []Entry{{Timestamp: 1, Line: "x"}}}}},
		{"key case", `{"STREAMS":[{"stream":{"a":"b"},"Values":[["1","ignored: Values is not values"]]}]}`, []Stream{{Labels: `{a="b"}`}}},
		{"labels sorted, last duplicate wins, values escaped", `{"streams":[{"stream":{"z":"1","a":"x\"y\\z\n","z":"2","e":""}}]}`,
			[]Stream{{Labels: `{a="x\"y\\z\n", e="", z="2"}`}}},
		{"many labels", `{"streams":[{"stream":{` + manyLabels + `}}]}`, []Stream{{Labels: manyLabelsString}}},
		{"invalid names kept for ParseLabels to refuse", `{"streams":[{"stream":{"job-x":"e"}}]}`, []Stream{{Labels: `{job-x="e"}`}}},
		{"U+FFFD escaped", `{"streams":[{"stream":{"a":"\ufffd"}}]}`, []Stream{{Labels: `{a="\ufffd"}`}}},
		{"escapes in lines", `{"streams":[{"values":[["-5","\"q\" \\ \/ \b\f\n\r\t \u00e9 \ud83d\ude00 \ud800x"]]}]}`,
			[]Stream{{Labels: `{}`, Entries: []Entry{{Timestamp: -5, Line: "\"q\" \\ / \b\f\n\r\t é 😀 \uFFFDx"}}}}},
		{"metadata in document order with duplicates", `{"streams":[{"values":[["1","x",{"b":"1","a":"2","b":"3"}],["2","y",{}]]}]}`,
			[]Stream{{Labels: `{}`, Entries: []Entry{{Timestamp: 1, Line: "x", StructuredMetadata: []LabelAdapter{{"b", "1"}, {"a", "2"}, {"b", "3"}}}, {Timestamp: 2, Line: "y"}}}}},
		{"extreme timestamps", `{"streams":[{"values":[["9223372036854775807",""],["-9223372036854775808",""],["+7",""]]}]}`,
			[]Stream{{Labels: `{}`, Entries: []Entry{{Timestamp: math.MaxInt64}, {Timestamp: math.MinInt64}, {Timestamp: 7}}}}},
		{"last values key wins", `{"streams":[{"values":[["1","a"]],"values":[["2","b"]]}]}`,
			[]Stream{{Labels: `{}`, Entries: []Entry{{Timestamp: 2, Line: "b"}}}}},
		{"raw control characters and invalid UTF-8 are kept", "{\"streams\":[{\"values\":[[\"1\",\"a\tb\x01\xff\"]]}]}",
			[]Stream{{Labels: `{}`, Entries: []Entry{{Timestamp: 1, Line: "a\tb\x01\xff"}}}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got PushRequest
			if err := UnmarshalJSONPushRequest([]byte(tc.in), &got); err != nil {
				t.Fatal(err)
			}
			if d := diffRequests(&got, &PushRequest{Streams: tc.want}); d != "" {
				t.Fatal(d)
			}
		})
	}
}

// manyLabels are 20 JSON labels in reverse order, l05 twice.
var manyLabels, manyLabelsString = func() (string, string) {
	var js, ls []string
	for i := 20; i > 0; i-- {
		js = append(js, fmt.Sprintf(`"l%02d":"%d"`, i, i))
	}
	js = append(js, `"l05":"last"`)
	for i := 1; i <= 20; i++ {
		v := strconv.Itoa(i)
		if i == 5 {
			v = "last"
		}
		ls = append(ls, fmt.Sprintf(`l%02d="%s"`, i, v))
	}
	return strings.Join(js, ","), "{" + strings.Join(ls, ", ") + "}"
}()

func TestUnmarshalJSONPushRequestErrors(t *testing.T) {
	for _, tc := range []struct {
		name, in, want string
	}{
		// The three bad bodies of the Loki 3.7 captures (errors/push-*).
		{"truncated", `{"streams":[`, `invalid push JSON at offset 12: streams[0]: expected an object, found end of input`},
		{"timestamp not a number", `{"streams":[{"stream":{"job":"e"},"values":[["notanumber","x"]]}]}`,
			`invalid push JSON at offset 45: streams[0].values[0][0]: timestamp "notanumber" is not an integer number of nanoseconds`},
		{"numeric timestamp", `{"streams":[{"stream":{"job":"e"},"values":[[1795448545000000000,"x"]]}]}`,
			`invalid push JSON at offset 45: streams[0].values[0][0]: timestamp must be a string of integer nanoseconds, found number`},

		{"not an object", `[]`, `invalid push JSON at offset 0: expected a JSON object, found array`},
		{"empty body", ``, `invalid push JSON at offset 0: expected a JSON object, found end of input`},
		{"trailing data", `{"streams":[]} {}`, `invalid push JSON at offset 15: unexpected object after the top-level value`},
		{"streams not an array", `{"streams":{}}`, `invalid push JSON at offset 11: streams: expected an array, found object`},
		{"label value not a string", `{"streams":[{"stream":{"a":1}}]}`, `invalid push JSON at offset 27: streams[0].stream: label value must be a string, found number`},
		{"values not an array", `{"streams":[{"values":"x"}]}`, `invalid push JSON at offset 22: streams[0].values: expected an array, found string`},
		{"entry not an array", `{"streams":[{"values":[{}]}]}`, `invalid push JSON at offset 23: streams[0].values[0]: entry must be an array [timestamp, line(, structured metadata)], found object`},
		{"entry without line", `{"streams":[{"values":[["1"]]}]}`, `invalid push JSON at offset 27: streams[0].values[0][0]: entry has no line`},
		{"line not a string", `{"streams":[{"values":[["1",null]]}]}`, `invalid push JSON at offset 28: streams[0].values[0][1]: line must be a string, found null`},
		{"metadata not an object", `{"streams":[{"values":[["1","x",null]]}]}`, `invalid push JSON at offset 32: streams[0].values[0][2]: structured metadata must be an object, found null`},
		{"metadata value not a string", `{"streams":[{"values":[["1","x",{"k":true}]]}]}`, `invalid push JSON at offset 37: streams[0].values[0][2]: structured metadata value must be a string, found boolean`},
		{"four elements", `{"streams":[{"values":[["1","x",{},"y"]]}]}`, `invalid push JSON at offset 34: streams[0].values[0]: entry has more than 3 elements`},
		{"timestamp overflow", `{"streams":[{"values":[["9223372036854775808","x"]]}]}`, `invalid push JSON at offset 24: streams[0].values[0][0]: timestamp "9223372036854775808" is not an integer number of nanoseconds`},
		{"bad escape", `{"streams":[{"values":[["1","\x"]]}]}`, `invalid push JSON at offset 28: streams[0].values[0][1]: invalid escape sequence "\\x" in string`},
		{"unterminated string", `{"streams":[{"values":[["1","abc`, `invalid push JSON at offset 28: streams[0].values[0][1]: unterminated string`},
		{"bad number in an unknown key", `{"x":01}`, `invalid push JSON at offset 6: expected ',' or '}' after object member, found number`},
		{"bad literal", `{"x":nul}`, `invalid push JSON at offset 5: expected value, found 'n'`},
		{"missing colon", `{"streams" []}`, `invalid push JSON at offset 11: expected ':' after object key, found array`},
		{"deep nesting", `{"x":` + strings.Repeat("[", 10002) + strings.Repeat("]", 10002) + `}`, `invalid push JSON at offset 10006: values nested too deeply`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req := PushRequest{Streams: []Stream{{Labels: "old"}}}
			err := UnmarshalJSONPushRequest([]byte(tc.in), &req)
			if err == nil || err.Error() != tc.want {
				t.Fatalf("got error\n%v\nwant\n%s", err, tc.want)
			}
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("%v does not wrap ErrMalformed", err)
			}
			if len(req.Streams) != 0 {
				t.Fatalf("a failed decode left %d streams", len(req.Streams))
			}
		})
	}
}

func TestUnmarshalJSONPushRequestReusesMemory(t *testing.T) {
	big, small := benchRequest(t, 4, 50), benchRequest(t, 2, 3)
	small.Streams[1].Entries[2].StructuredMetadata = []LabelAdapter{{"k", "v"}}
	bigB, smallB := encodeJSON(t, big), encodeJSON(t, small)
	var req PushRequest
	if err := UnmarshalJSONPushRequest(bigB, &req); err != nil {
		t.Fatal(err)
	}
	streams, entries := &req.Streams[0], &req.Streams[0].Entries[0]
	if err := UnmarshalJSONPushRequest(smallB, &req); err != nil {
		t.Fatal(err)
	}
	if d := diffRequests(&req, small); d != "" {
		t.Fatal(d)
	}
	if &req.Streams[0] != streams || &req.Streams[0].Entries[0] != entries {
		t.Error("the second decode did not reuse the streams and entries of the first")
	}
	for i := range smallB {
		smallB[i] = 'X'
	}
	if d := diffRequests(&req, small); d != "" {
		t.Fatal("after changing the input:", d)
	}
}

func TestUnmarshalLegacyJSONPushRequest(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		want     []Stream
	}{
		{
			// The shape of Loki's own test for /api/prom/push.
			"loki example",
			`{"streams":[{"labels":"{test=\"test\"}","entries":[
				{"ts":"2019-09-13T18:32:22.380001319Z","line":"super line"},
				{"ts":"2019-09-13T18:32:23.380001319Z","line":"super line with labels","structuredMetadata":{"b":"2","a":"1"}}]}]}`,
			[]Stream{{Labels: `{test="test"}`, Entries: []Entry{
				{Timestamp: 1568399542380001319, Line: "super line"},
				{Timestamp: 1568399543380001319, Line: "super line with labels", StructuredMetadata: []LabelAdapter{{"a", "1"}, {"b", "2"}}},
			}}},
		},
		{
			"offsets, case, nulls, duplicates, unknown keys",
			`{"Streams":[null,{"LABELS":"{a=\"b\"}","hash":7,"Entries":[null,
				{"TS":"2019-09-13T20:32:22+02:00","Line":null,"parsed":{"x":"1","x":"2"},"structuredmetadata":null},
				{"ts":null,"line":"no time"}]}]}`,
			[]Stream{{Labels: `{a="b"}`, Entries: []Entry{
				{Timestamp: 1568399542000000000, Parsed: []LabelAdapter{{"x", "2"}}},
				{Timestamp: 0, Line: "no time"},
			}}},
		},
		{
			"clamped",
			`{"streams":[{"entries":[{"ts":"1600-01-01T00:00:00Z"},{"ts":"2300-01-01T00:00:00Z"}]}]}`,
			[]Stream{{Entries: []Entry{{Timestamp: math.MinInt64}, {Timestamp: math.MaxInt64}}}},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got PushRequest
			if err := UnmarshalLegacyJSONPushRequest([]byte(tc.in), &got); err != nil {
				t.Fatal(err)
			}
			if d := diffRequests(&got, &PushRequest{Streams: tc.want}); d != "" {
				t.Fatal(d)
			}
		})
	}

	for _, tc := range []struct{ name, in, want string }{
		{"timestamp not RFC 3339", `{"streams":[{"entries":[{"ts":"1568399542"}]}]}`,
			`invalid legacy push JSON at offset 30: streams[0].entries[0].ts: timestamp "1568399542" is not an RFC 3339 time`},
		{"numeric timestamp", `{"streams":[{"entries":[{"ts":1568399542}]}]}`,
			`invalid legacy push JSON at offset 30: streams[0].entries[0].ts: timestamp must be an RFC 3339 string, found number`},
		{"labels not a string", `{"streams":[{"labels":{}}]}`,
			`invalid legacy push JSON at offset 22: streams[0].labels: labels must be a string, found object`},
		{"metadata value not a string", `{"streams":[{"entries":[{"structuredMetadata":{"a":1}}]}]}`,
			`invalid legacy push JSON at offset 51: streams[0].entries[0].structuredMetadata: structured metadata value must be a string, found number`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var req PushRequest
			err := UnmarshalLegacyJSONPushRequest([]byte(tc.in), &req)
			if err == nil || err.Error() != tc.want || !errors.Is(err, ErrMalformed) {
				t.Fatalf("got error\n%v\nwant\n%s", err, tc.want)
			}
		})
	}
}
