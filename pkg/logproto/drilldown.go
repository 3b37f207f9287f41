package logproto

import "github.com/prometheus/prometheus/model/labels"

// The requests and answers of the endpoints Grafana's Logs Drilldown reads:
// /index/volume, /index/volume_range, /detected_labels and
// /detected_fields. The querier computes them; the HTTP API encodes them.

// Ways to aggregate volumes, as Loki names them.
const (
	AggregateBySeries = "series"
	AggregateByLabels = "labels"
)

// VolumeRequest asks how many bytes of log lines the streams that match
// Query hold in [Start, End), aggregated by label set or by label name and
// split into buckets of Step (0: one bucket).
type VolumeRequest struct {
	Start, End int64 // Unix ns
	Step       int64 // ns; 0 answers one bucket for the whole range
	// Query is a stream selector; "{}" selects every stream.
	Query string
	// TargetLabels, when set, are the labels to aggregate into; streams
	// that lack one of them are left out.
	TargetLabels []string
	// AggregateBy is AggregateBySeries (default) or AggregateByLabels.
	AggregateBy string
	// Limit caps the volumes of each bucket (the largest are kept).
	Limit int
}

// Volume is the bytes of one aggregated label set or label name.
type Volume struct {
	// Name is the label set in Prometheus text form ({app="api"}), or the
	// label name when aggregating by labels.
	Name string
	// Labels is the label set, or {<name>=""} when aggregating by labels.
	Labels labels.Labels
	Bytes  uint64
}

// VolumeBucket is the answer for one bucket of a VolumeRequest.
type VolumeBucket struct {
	Start, End int64 // the bucket covers [Start, End)
	// Time is when Loki reports the bucket: the request's end for the last
	// bucket, the last millisecond of the bucket for the others.
	Time    int64
	Volumes []Volume // largest first (ties by name), at most Limit
}

// DetectedLabelsRequest asks for the stream labels worth grouping by, of the
// streams that match Query (a stream selector; empty: all) and have data in
// [Start, End).
type DetectedLabelsRequest struct {
	Start int64
	End   int64
	Query string
}

// DetectedLabel is a stream label and how many values it has.
type DetectedLabel struct {
	Label       string
	Cardinality uint64
}

// DetectedFieldType is the type Loki infers for a detected field from its
// values.
type DetectedFieldType string

// The field types, in the order Loki tries them.
const (
	DetectedFieldInt      DetectedFieldType = "int"
	DetectedFieldFloat    DetectedFieldType = "float"
	DetectedFieldBoolean  DetectedFieldType = "boolean"
	DetectedFieldDuration DetectedFieldType = "duration"
	DetectedFieldBytes    DetectedFieldType = "bytes"
	DetectedFieldString   DetectedFieldType = "string"
)

// DetectedField is one field found in log entries: a structured-metadata
// key (Parsers nil) or a name extracted from lines by the query's own
// parsers or by detection (Parsers lists them: "json", "logfmt").
type DetectedField struct {
	Label       string
	Type        DetectedFieldType
	Cardinality uint64   // distinct values seen
	Parsers     []string // nil for structured metadata
	JSONPath    []string // the keys leading to the field in a JSON line; nil otherwise
}
