package logql

import (
	"errors"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/skald-logs/skald/pkg/logproto"
	"github.com/skald-logs/skald/pkg/logql/log"
)

// Errors the engine returns; wrapped with the message the user sees.
var (
	// ErrBadRequest marks a query the caller must change: bad parameters,
	// limits exceeded, a log query sent as an instant query.
	ErrBadRequest = errors.New("bad request")
	// ErrTimeout marks a query that ran out of time.
	ErrTimeout = errors.New("query timed out")
)

// ValueType names the shape of a result, as Loki's resultType does.
type ValueType string

// The four result shapes.
const (
	ValueStreams ValueType = "streams"
	ValueMatrix  ValueType = "matrix"
	ValueVector  ValueType = "vector"
	ValueScalar  ValueType = "scalar"
)

// Params are the parameters of one query, already parsed from the request.
// Times are Unix nanoseconds.
type Params struct {
	Query     string
	Start     int64 // range queries: inclusive start; instant queries: equal to End
	End       int64 // range queries: exclusive end (log queries); last step bound (metric queries)
	Step      int64 // metric range queries, nanoseconds; 0 for instant queries
	Interval  int64 // log range queries: at most one entry per interval; 0 = off
	Limit     uint32
	Direction logproto.Direction
	Instant   bool // /query rather than /query_range
}

// Point is one sample of a series; T in Unix milliseconds.
type Point struct {
	T int64
	V float64
}

// Series is one series of a matrix result.
type Series struct {
	Metric labels.Labels
	Points []Point
}

// Sample is one element of a vector result; T in Unix milliseconds.
type Sample struct {
	Metric labels.Labels
	T      int64
	V      float64
}

// Stream is one stream of a log result. Labels are the stream's
// indexed labels after the pipeline; each entry carries its structured
// metadata and parsed labels separately, so the encoder can either merge them
// into the stream (Loki's default) or categorize them.
type Stream struct {
	Labels  labels.Labels
	Entries []logproto.Entry
}

// Result is the answer to one query. Exactly one of Streams, Matrix, Vector or
// Scalar is meaningful, as Type says.
type Result struct {
	Type     ValueType
	Streams  []Stream
	Matrix   []Series
	Vector   []Sample
	Scalar   Point
	Stats    Stats
	Warnings []string
}

// Stats summarise the work one query did; they become Loki's "stats" object.
type Stats struct {
	ExecTimeSeconds      float64
	TotalBytesProcessed  int64
	TotalLinesProcessed  int64
	TotalEntriesReturned int64
	PostFilterLines      int64
	ChunksRef            int64
	ChunksDownloaded     int64
	ChunkCompressedBytes int64
	HeadChunkBytes       int64
	HeadChunkLines       int64
	DecompressedBytes    int64
	DecompressedLines    int64
	StructuredMetaBytes  int64
	IngestersReached     int64
}

// SelectLogParams ask a source (an ingester, the store) for the entries of
// the streams that match Matchers in [Start, End), run through Pipeline, in
// Direction order. Sources may return more than Limit entries; the engine
// applies it. Query is the log selector's text, for remote sources that must
// rebuild Matchers and Pipeline.
type SelectLogParams struct {
	Start     int64
	End       int64
	Direction logproto.Direction
	Limit     uint32
	Query     string
	Matchers  []*labels.Matcher
	Pipeline  log.Pipeline
}
