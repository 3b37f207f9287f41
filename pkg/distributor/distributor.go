// Package distributor is the front of the write path: it parses and validates
// pushed streams, adds Loki's ingest-side enrichment (service_name,
// detected_level), enforces per-tenant rate limits and hands the accepted
// entries to the ingesters.
package distributor

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/prometheus/model/labels"
	"golang.org/x/time/rate"

	"github.com/skald-logs/skald/pkg/index"
	"github.com/skald-logs/skald/pkg/logproto"
	"github.com/skald-logs/skald/pkg/validation"
)

// Pusher receives the validated streams of one tenant. Each stream's Labels
// is the canonical label string and Hash its fingerprint. The ingester (in
// process) or the replicating ingester client (in a cluster) implements it.
type Pusher interface {
	Push(ctx context.Context, tenant string, req *logproto.PushRequest) error
}

// Distributor validates pushes and forwards them.
type Distributor struct {
	limits  *validation.Overrides
	pusher  Pusher
	logger  *slog.Logger
	now     func() time.Time
	streams *streamCache

	mtx      sync.Mutex
	limiters map[string]*rate.Limiter

	linesReceived *prometheus.CounterVec
	bytesReceived *prometheus.CounterVec
	discarded     *prometheus.CounterVec
}

// New returns a distributor that forwards to pusher.
func New(limits *validation.Overrides, pusher Pusher, logger *slog.Logger, reg prometheus.Registerer) *Distributor {
	d := &Distributor{
		limits:   limits,
		pusher:   pusher,
		logger:   logger,
		now:      time.Now,
		streams:  newStreamCache(1 << 16),
		limiters: map[string]*rate.Limiter{},
		linesReceived: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "skald_distributor_lines_received_total",
			Help: "Log lines received by the distributor, before validation.",
		}, []string{"tenant"}),
		bytesReceived: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "skald_distributor_bytes_received_total",
			Help: "Bytes of log lines received by the distributor, before validation.",
		}, []string{"tenant"}),
		discarded: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "skald_discarded_samples_total",
			Help: "Log lines refused, by reason.",
		}, []string{"reason", "tenant"}),
	}
	if reg != nil {
		reg.MustRegister(d.linesReceived, d.bytesReceived, d.discarded)
	}
	return d
}

// maxReportedErrors bounds the lines of a 400 answer.
const maxReportedErrors = 10

// Push validates req, forwards what is valid and reports what is not: an
// error wrapping validation.ErrInvalid (after the valid entries were written)
// or validation.ErrRateLimited (nothing written).
func (d *Distributor) Push(ctx context.Context, tenant string, req *logproto.PushRequest) error {
	limits := d.limits.For(tenant)
	now := d.now()
	var errs errorList
	out := logproto.PushRequest{Streams: make([]logproto.Stream, 0, len(req.Streams))}
	var lines, validBytes int

	for i := range req.Streams {
		s := &req.Streams[i]
		lines += len(s.Entries)
		info, err := d.streams.get(tenant, s.Labels, func(raw string) (*streamInfo, error) { return parseStream(raw, limits) })
		if err != nil {
			errs.add(err.Error())
			d.discard("invalid_labels", tenant, len(s.Entries))
			continue
		}
		valid := make([]logproto.Entry, 0, len(s.Entries))
		for j := range s.Entries {
			e := s.Entries[j]
			if reason, msg := validateEntry(limits, info, &e, now); reason != "" {
				errs.add(msg)
				d.discard(reason, tenant, 1)
				continue
			}
			// Rate limits count what the client sent, not what Skald adds.
			validBytes += len(e.Line) + metadataSize(e.StructuredMetadata)
			if limits.DiscoverLogLevels {
				e.StructuredMetadata = withLevel(info, e.StructuredMetadata, e.Line)
			}
			valid = append(valid, e)
		}
		if len(valid) == 0 {
			continue
		}
		out.Streams = append(out.Streams, logproto.Stream{Labels: info.key, Hash: info.fp, Entries: valid})
	}
	d.linesReceived.WithLabelValues(tenant).Add(float64(lines))

	if len(out.Streams) > 0 {
		if !d.limiter(tenant, limits).AllowN(now, validBytes) {
			// The invalid entries are counted under their reasons already.
			validLines := countEntries(&out)
			d.discard("rate_limited", tenant, validLines)
			return rateLimitedError(fmt.Sprintf(
				"Ingestion rate limit exceeded for user %s (limit: %d bytes/sec) while attempting to ingest '%d' lines totaling '%d' bytes, reduce log volume or contact your Loki administrator to see if the limit can be increased",
				tenant, int(limits.IngestionRateMB*(1<<20)), validLines, validBytes))
		}
		d.bytesReceived.WithLabelValues(tenant).Add(float64(validBytes))
		if err := d.pusher.Push(ctx, tenant, &out); err != nil {
			return err
		}
	}
	return errs.err()
}

func (d *Distributor) discard(reason, tenant string, n int) {
	d.discarded.WithLabelValues(reason, tenant).Add(float64(n))
}

// limiter returns the tenant's token bucket, rebuilt when its limits change.
func (d *Distributor) limiter(tenant string, l *validation.Limits) *rate.Limiter {
	r := rate.Limit(l.IngestionRateMB * (1 << 20))
	burst := int(l.IngestionBurstSizeMB * (1 << 20))
	d.mtx.Lock()
	defer d.mtx.Unlock()
	lim, ok := d.limiters[tenant]
	if !ok || lim.Limit() != r || lim.Burst() != burst {
		lim = rate.NewLimiter(r, burst)
		d.limiters[tenant] = lim
	}
	return lim
}

func countEntries(req *logproto.PushRequest) int {
	n := 0
	for _, s := range req.Streams {
		n += len(s.Entries)
	}
	return n
}

func metadataSize(sm []logproto.LabelAdapter) int {
	n := 0
	for _, p := range sm {
		n += len(p.Name) + len(p.Value)
	}
	return n
}

// streamInfo is what the distributor knows about one pushed label string.
type streamInfo struct {
	lbls  labels.Labels // with service_name
	key   string        // canonical text form
	fp    uint64
	level string // level named by a stream label; "" when none
	det   *levelDetector
}

// parseStream parses and validates a pushed label string and adds
// service_name.
func parseStream(raw string, l *validation.Limits) (*streamInfo, error) {
	lbls, err := logproto.ParseLabels(raw)
	var dup *logproto.DuplicateLabelError
	if errors.As(err, &dup) {
		return nil, invalidError(fmt.Sprintf("stream '%s' has duplicate label name: '%s'", raw, dup.Name))
	}
	if err != nil {
		return nil, invalidError("couldn't parse labels: " + err.Error())
	}
	key := logproto.LabelsString(lbls)
	if n := lbls.Len(); n > l.MaxLabelNamesPerSeries {
		return nil, invalidError(fmt.Sprintf("entry for stream '%s' has %d label names; limit %d", key, n, l.MaxLabelNamesPerSeries))
	}
	var verr error
	lbls.Range(func(lb labels.Label) {
		if verr != nil {
			return
		}
		if len(lb.Name) > l.MaxLabelNameLength {
			verr = invalidError(fmt.Sprintf("stream '%s' has label name too long: '%s'", key, lb.Name))
		} else if len(lb.Value) > l.MaxLabelValueLength {
			verr = invalidError(fmt.Sprintf("stream '%s' has label value too long: '%s'", key, lb.Value))
		}
	})
	if verr != nil {
		return nil, verr
	}
	if !lbls.Has(serviceNameLabel) && len(l.DiscoverServiceName) > 0 {
		b := labels.NewBuilder(lbls)
		b.Set(serviceNameLabel, serviceName(lbls, l.DiscoverServiceName))
		lbls = b.Labels()
		key = logproto.LabelsString(lbls)
	}
	if lbls.IsEmpty() {
		return nil, invalidError("error at least one label pair is required per stream")
	}
	info := &streamInfo{lbls: lbls, key: key, fp: index.Fingerprint(lbls)}
	if l.DiscoverLogLevels {
		fields := l.LogLevelFields
		if len(fields) == 0 {
			fields = validation.DefaultLogLevelFields
		}
		info.det = newLevelDetector(fields)
		info.level, _ = info.det.fromLabels(lbls)
	}
	return info, nil
}

const (
	serviceNameLabel   = "service_name"
	unknownServiceName = "unknown_service"
)

func serviceName(lbls labels.Labels, from []string) string {
	for _, name := range from {
		if v := lbls.Get(name); v != "" {
			return v
		}
	}
	return unknownServiceName
}

// validateEntry checks one entry against the limits, sanitising its
// structured metadata in place. It returns a discard reason and message, or
// "" when the entry is valid.
func validateEntry(l *validation.Limits, s *streamInfo, e *logproto.Entry, now time.Time) (string, string) {
	ts := time.Unix(0, e.Timestamp).UTC()
	if l.RejectOldSamples {
		oldest := now.Add(-time.Duration(l.RejectOldSamplesMaxAge))
		if ts.Before(oldest) {
			return "greater_than_max_sample_age", fmt.Sprintf("entry for stream '%s' has timestamp too old: %s, oldest acceptable timestamp is: %s",
				s.key, ts.Format(time.RFC3339), oldest.UTC().Format(time.RFC3339))
		}
	}
	if ts.After(now.Add(time.Duration(l.CreationGracePeriod))) {
		return "too_far_in_future", fmt.Sprintf("entry for stream '%s' has timestamp too new: %s", s.key, ts.Format(time.RFC3339))
	}
	if l.MaxLineSize > 0 && len(e.Line) > l.MaxLineSize {
		if !l.MaxLineSizeTruncate {
			return "line_too_long", fmt.Sprintf("Max entry size '%d' bytes exceeded for stream '%s' while adding an entry with length '%d' bytes",
				l.MaxLineSize, s.key, len(e.Line))
		}
		e.Line = e.Line[:l.MaxLineSize]
	}
	if len(e.StructuredMetadata) > 0 {
		if !l.AllowStructuredMetadata {
			return "disallowed_structured_metadata", fmt.Sprintf("stream '%s' includes structured metadata, but this feature is disallowed. Please see `limits_config.allow_structured_metadata` or contact your Loki administrator to enable it.", s.key)
		}
		if n := len(e.StructuredMetadata); l.MaxStructuredMetadataEntries > 0 && n > l.MaxStructuredMetadataEntries {
			return "structured_metadata_too_many", fmt.Sprintf("stream '%s' has too many structured metadata labels: '%d', limit: '%d'. Please see `limits_config.max_structured_metadata_entries_count` or contact your Loki administrator to increase it.",
				s.key, n, l.MaxStructuredMetadataEntries)
		}
		if n := metadataSize(e.StructuredMetadata); l.MaxStructuredMetadataSize > 0 && n > l.MaxStructuredMetadataSize {
			return "structured_metadata_too_large", fmt.Sprintf("stream '%s' has structured metadata too large: '%d' bytes, limit: '%d' bytes. Please see `limits_config.max_structured_metadata_size` or contact your Loki administrator to increase it.",
				s.key, n, l.MaxStructuredMetadataSize)
		}
		sanitizeMetadata(e.StructuredMetadata)
	}
	return "", ""
}

// sanitizeMetadata makes structured-metadata names valid label names
// (trace.id → trace_id) and values valid UTF-8, in place.
func sanitizeMetadata(sm []logproto.LabelAdapter) {
	for i := range sm {
		sm[i].Name = sanitizeName(sm[i].Name)
		sm[i].Value = strings.ToValidUTF8(sm[i].Value, "\uFFFD")
	}
}

func sanitizeName(n string) string {
	ok := n != ""
	for i := 0; i < len(n) && ok; i++ {
		c := n[i]
		ok = c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' && i > 0
	}
	if ok {
		return n
	}
	b := []byte(n)
	for i, c := range b {
		if !(c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' && i > 0) {
			b[i] = '_'
		}
	}
	if len(b) == 0 {
		return "_"
	}
	return string(b)
}

// withLevel returns sm with detected_level set: an existing value is
// normalised, otherwise the level is derived from the stream, the metadata or
// the line.
func withLevel(s *streamInfo, sm []logproto.LabelAdapter, line string) []logproto.LabelAdapter {
	for i := range sm {
		if sm[i].Name == LevelLabel {
			sm[i].Value = normalizeLevel(sm[i].Value)
			return sm
		}
	}
	level := s.level
	if level == "" {
		level = s.det.detect(sm, line)
	}
	if len(sm) == 0 {
		if shared, ok := levelOnly[level]; ok {
			return shared
		}
	}
	out := make([]logproto.LabelAdapter, len(sm), len(sm)+1)
	copy(out, sm)
	return append(out, logproto.LabelAdapter{Name: LevelLabel, Value: level})
}

// levelOnly holds, per known level, the metadata of an entry that has no
// other metadata. The slices are shared by every such entry and must never be
// modified (their capacity is their length, so appends copy).
var levelOnly = func() map[string][]logproto.LabelAdapter {
	m := map[string][]logproto.LabelAdapter{}
	for _, l := range []string{levelTrace, levelDebug, levelInfo, levelWarn, levelError, levelCritical, levelFatal, levelUnknown} {
		m[l] = []logproto.LabelAdapter{{Name: LevelLabel, Value: l}}[:1:1]
	}
	return m
}()
