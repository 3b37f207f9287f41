// Package log holds the LogQL log pipeline: line filters, parsers, label
// filters and formatters, applied to each entry of a stream as it is read,
// with Loki's semantics.
//
// NewPipeline compiles a query's stages once; Pipeline.ForStream gives each
// stream its own StreamPipeline, which holds the buffers, intern tables and
// template instances of that stream, so that processing an entry allocates
// nothing in the steady state for line filters, label filters and the json
// and logfmt parsers. Leading line filters run on the raw line before any
// label work.
//
// Every processed entry has three groups of labels (LabelsResult): the
// stream labels (which stages can only remove), the structured metadata, and
// the parsed labels (set by parsers and label_format, plus __error__ and
// __error_details__). The strings of the last two point into buffers that
// the next Process call reuses; NewEntryIterator copies what it keeps.
//
// Inside the package a stage is a value with
//
//	process(ts int64, line []byte, b *builder) ([]byte, bool)
//
// that reads and changes the entry's labels through the builder (get, set,
// del, setErr and the err field). Metric extraction (sample*.go) can build
// on the same pieces: pipeline.withStages appends stages, newLabelFilter
// compiles label filters such as unwrap's post-filters.
package log
