package logproto

// LabelRequest asks for label names (Name empty) or the values of one label,
// of the series that have data in [Start, End) and match Query, a stream
// selector such as {app="web"} (empty: all series).
type LabelRequest struct {
	Name  string
	Start int64
	End   int64
	Query string
}

// SeriesRequest asks for the label sets of the series that have data in
// [Start, End) and match any of the stream selectors in Groups (none: all).
type SeriesRequest struct {
	Start  int64
	End    int64
	Groups []string
}

// IndexStatsRequest asks how much flushed data matches Query in [Start, End).
type IndexStatsRequest struct {
	Start int64
	End   int64
	Query string
}

// IndexStats is the answer to an IndexStatsRequest, in Loki's units: Bytes are
// uncompressed bytes of log lines.
type IndexStats struct {
	Streams uint64 `json:"streams"`
	Chunks  uint64 `json:"chunks"`
	Bytes   uint64 `json:"bytes"`
	Entries uint64 `json:"entries"`
}
