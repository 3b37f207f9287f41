package loadgen

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"
)

// ErrConfig reports a workload or run configuration that cannot work.
var ErrConfig = errors.New("invalid load configuration")

// Kind is the shape of generated lines.
type Kind uint8

// The generated line kinds. KindMixed gives stream s the kind s mod 3
// (access, JSON, logfmt in turn).
const (
	KindMixed Kind = iota
	KindAccess
	KindJSON
	KindLogfmt
	kindCorpus
)

var kindNames = [...]string{"mixed", "access", "json", "logfmt", "corpus"}

// String returns the name ParseKind accepts.
func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return "kind(" + strconv.Itoa(int(k)) + ")"
}

// ParseKind reads a kind name: mixed, access, json or logfmt.
func ParseKind(s string) (Kind, error) {
	for i, n := range kindNames[:kindCorpus] {
		if n == s {
			return Kind(i), nil
		}
	}
	return 0, fmt.Errorf("%w: unknown line kind %q (want mixed, access, json or logfmt)", ErrConfig, s)
}

// WorkloadConfig describes a workload.
type WorkloadConfig struct {
	// Streams is the number of streams, Lines the number of lines in all.
	Streams int
	Lines   int64
	// LineSize is the mean size of a generated line in bytes (individual
	// lines vary by ±25%). Corpus lines keep their own size.
	LineSize int
	// Kind of generated lines; ignored when Corpus is set.
	Kind Kind
	// Corpus, when not empty, replaces generated lines: stream s reads
	// the lines of Corpus[s mod len(Corpus)], cycling.
	Corpus []CorpusFile
	// The timestamps of every stream spread evenly over (End-Span, End].
	Span time.Duration
	End  time.Time
	// Seed fixes the generated content.
	Seed uint64
}

// DefaultWorkloadConfig is the benchmark workload of issue 5: one million
// lines of ~190 bytes over 100 streams, one hour of timestamps.
func DefaultWorkloadConfig() WorkloadConfig {
	return WorkloadConfig{Streams: 100, Lines: 1_000_000, LineSize: 190, Span: time.Hour, Seed: 1}
}

// Label is one label of a stream.
type Label struct{ Name, Value string }

// Stream is one stream of a workload.
type Stream struct {
	// Labels in Prometheus text form, as pushed: {env="bench", ...}.
	Labels string
	// Pairs are the same labels, sorted by name.
	Pairs []Label
	Kind  Kind
	// Lines is the number of lines the stream has.
	Lines int64

	corpus *CorpusFile
	offset int // first corpus line of this stream
}

// Label returns the value of the label name, or "".
func (s *Stream) Label(name string) string {
	for _, p := range s.Pairs {
		if p.Name == name {
			return p.Value
		}
	}
	return ""
}

// Selector is a stream selector matching exactly this stream.
func (s *Stream) Selector() string { return s.Labels }

// Workload is an immutable, deterministic set of streams and their lines.
// It is safe for concurrent use; its Cursors are not.
type Workload struct {
	cfg     WorkloadConfig
	streams []Stream
	start   int64 // Unix ns of the span's start (exclusive)
	spanNs  int64
}

// NewWorkload checks cfg and lays out its streams. A zero End means now.
func NewWorkload(cfg WorkloadConfig) (*Workload, error) {
	switch {
	case cfg.Streams <= 0:
		return nil, fmt.Errorf("%w: streams must be positive", ErrConfig)
	case cfg.Lines < int64(cfg.Streams):
		return nil, fmt.Errorf("%w: need at least one line per stream (%d lines, %d streams)", ErrConfig, cfg.Lines, cfg.Streams)
	case cfg.Span <= 0:
		return nil, fmt.Errorf("%w: span must be positive", ErrConfig)
	case len(cfg.Corpus) == 0 && cfg.LineSize <= 0:
		return nil, fmt.Errorf("%w: line size must be positive", ErrConfig)
	case cfg.Kind >= kindCorpus:
		return nil, fmt.Errorf("%w: unknown line kind %d", ErrConfig, cfg.Kind)
	}
	for i := range cfg.Corpus {
		if len(cfg.Corpus[i].Lines) == 0 {
			return nil, fmt.Errorf("%w: corpus file %s has no lines", ErrConfig, cfg.Corpus[i].Name)
		}
	}
	if cfg.End.IsZero() {
		cfg.End = time.Now()
	}
	w := &Workload{cfg: cfg, spanNs: int64(cfg.Span), start: cfg.End.UnixNano() - int64(cfg.Span)}
	w.streams = make([]Stream, cfg.Streams)
	per, extra := cfg.Lines/int64(cfg.Streams), cfg.Lines%int64(cfg.Streams)
	for s := range w.streams {
		st := &w.streams[s]
		st.Lines = per
		if int64(s) < extra {
			st.Lines++
		}
		format := ""
		if len(cfg.Corpus) > 0 {
			st.Kind = kindCorpus
			st.corpus = &cfg.Corpus[s%len(cfg.Corpus)]
			// Streams sharing a file start at different places in it.
			st.offset = (s / len(cfg.Corpus) * 7919) % len(st.corpus.Lines)
			format = st.corpus.Format()
		} else {
			st.Kind = cfg.Kind
			if st.Kind == KindMixed {
				st.Kind = Kind(1 + s%3)
			}
			format = st.Kind.String()
		}
		st.Pairs = []Label{
			{"env", "bench"},
			{"format", format},
			{"instance", "i-" + strconv.Itoa(s%10)},
			{"service", fmt.Sprintf("svc-%02d", s/10)},
		}
		if st.corpus != nil {
			st.Pairs = append(st.Pairs, Label{"source", st.corpus.Name})
		}
		st.Labels = labelsString(st.Pairs)
	}
	return w, nil
}

func labelsString(pairs []Label) string {
	var b strings.Builder
	b.WriteByte('{')
	for i, p := range pairs {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(p.Name)
		b.WriteByte('=')
		b.WriteString(strconv.Quote(p.Value))
	}
	b.WriteByte('}')
	return b.String()
}

// Config returns the configuration with End filled in.
func (w *Workload) Config() WorkloadConfig { return w.cfg }

// Streams returns the streams; the caller must not modify them.
func (w *Workload) Streams() []Stream { return w.streams }

// Bounds returns the Unix-ns bounds of every timestamp: (start, end].
func (w *Workload) Bounds() (start, end int64) { return w.start, w.start + w.spanNs }

// Timestamp returns the timestamp of line j of stream s: the lines of a
// stream are spread evenly over the span, the last one at its end.
func (w *Workload) Timestamp(s int, j int64) int64 {
	n := w.streams[s].Lines
	// (j+1)*span/n without overflowing for long spans or many lines.
	q, r := w.spanNs/n, w.spanNs%n
	return w.start + (j+1)*q + (j+1)*r/n
}

// Needle returns a literal that occurs in few lines, from the middle of the
// workload: the trace id of a generated line (one line in the whole
// workload, bar a 64-bit collision), or the first up to 64 bytes of a corpus
// line (as often as the corpus cycles through it).
func (w *Workload) Needle() string {
	s := len(w.streams) / 2
	c := w.Cursor(s)
	target := w.streams[s].Lines / 2
	var line []byte
	for c.Pos() < target {
		line, _, _ = c.Next(line[:0])
	}
	line, _, _ = c.Next(line[:0])
	if w.streams[s].Kind == kindCorpus {
		return string(line[:min(len(line), 64)])
	}
	return string(c.traceID[:])
}

// Cursor iterates over the lines of one stream in order.
type Cursor struct {
	w       *Workload
	stream  int
	st      *Stream
	j       int64
	rng     *rand.Rand
	traceID [16]byte
	balance int // bytes the lines so far fell short of the mean size
	tsCache timeCache
}

// Cursor returns a cursor at the first line of stream s.
func (w *Workload) Cursor(s int) *Cursor {
	c := &Cursor{w: w, stream: s, st: &w.streams[s]}
	c.rng = rand.New(rand.NewPCG(w.cfg.Seed, uint64(s)*0x9e3779b97f4a7c15+1))
	return c
}

// Pos is the index of the line Next returns next.
func (c *Cursor) Pos() int64 { return c.j }

// Remaining is the number of lines left.
func (c *Cursor) Remaining() int64 { return c.st.Lines - c.j }

// Next appends the next line to dst and returns it with its timestamp;
// ok is false once the stream is exhausted.
func (c *Cursor) Next(dst []byte) (line []byte, ts int64, ok bool) {
	if c.j >= c.st.Lines {
		return dst, 0, false
	}
	ts = c.w.Timestamp(c.stream, c.j)
	switch c.st.Kind {
	case kindCorpus:
		lines := c.st.corpus.Lines
		dst = append(dst, lines[(int64(c.st.offset)+c.j)%int64(len(lines))]...)
	default:
		dst = c.generate(dst, ts)
	}
	c.j++
	return dst, ts, true
}
