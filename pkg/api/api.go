package api

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/prometheus/prometheus/model/labels"

	"github.com/skald-logs/skald/pkg/logproto"
	"github.com/skald-logs/skald/pkg/logql"
	"github.com/skald-logs/skald/pkg/validation"
)

// Pusher accepts decoded push requests; in Skald it is the distributor.
// It is called concurrently from many requests.
type Pusher interface {
	Push(ctx context.Context, tenant string, req *logproto.PushRequest) error
}

// Engine evaluates LogQL queries. It is called concurrently. Errors that the
// user must fix wrap logql.ErrBadRequest (or syntax.ErrParse) and carry the
// user-facing text as err.Error().
type Engine interface {
	Query(ctx context.Context, tenant string, p logql.Params) (logql.Result, error)
}

// Metadata answers the label, series and index-stats endpoints. Labels
// returns sorted, distinct names or values. It is called concurrently.
type Metadata interface {
	Labels(ctx context.Context, tenant string, r logproto.LabelRequest) ([]string, error)
	Series(ctx context.Context, tenant string, r logproto.SeriesRequest) ([]labels.Labels, error)
	IndexStats(ctx context.Context, tenant string, r logproto.IndexStatsRequest) (logproto.IndexStats, error)
}

// Flusher flushes in-memory data to storage (POST /flush).
type Flusher interface {
	Flush(ctx context.Context) error
}

// Readiness reports whether the process can serve traffic: nil means ready,
// otherwise the error text is the /ready body.
type Readiness interface {
	Ready(ctx context.Context) error
}

// Volumes answers /index/volume and /index/volume_range: the bytes of the
// matching streams per label set or label name, bucket by bucket. It is
// called concurrently.
type Volumes interface {
	Volume(ctx context.Context, tenant string, r logproto.VolumeRequest) ([]logproto.VolumeBucket, error)
}

// LabelDetector answers /detected_labels. It is called concurrently.
type LabelDetector interface {
	DetectedLabels(ctx context.Context, tenant string, r logproto.DetectedLabelsRequest) ([]logproto.DetectedLabel, error)
}

// TenantLimits gives a tenant's limits: the read path applies them
// (max_query_length, max_entries_limit_per_query, max_query_lookback,
// query_timeout) and /drilldown-limits publishes them.
// *validation.Overrides implements it.
type TenantLimits interface {
	For(tenant string) *validation.Limits
}

// Deps are the implementations behind the routes. A nil dependency leaves
// its routes unregistered (they answer 404), so a process running only some
// components serves only their endpoints; a nil Readiness means always ready
// and nil Limits gives every tenant the defaults of validation.Limits.
//
// The Engine also answers the live tail's history and detected_fields (its
// log results are inspected); the Tailer serves the live tail.
type Deps struct {
	Pusher    Pusher
	Engine    Engine
	Tailer    Tailer
	Metadata  Metadata
	Volumes   Volumes
	Detector  LabelDetector
	Limits    TenantLimits
	Flusher   Flusher
	Readiness Readiness
}

// BuildInfo is reported by /loki/api/v1/status/buildinfo.
type BuildInfo struct {
	Version   string
	Revision  string
	Branch    string
	BuildUser string
	BuildDate string
	GoVersion string
}

// Config holds the HTTP API settings. Defaults are those of RegisterFlags
// (and DefaultConfig), which match Loki's. The query limits
// (max_query_length, max_entries_limit_per_query, max_query_lookback,
// query_timeout) are per tenant: Deps.Limits.
type Config struct {
	// AuthEnabled requires an X-Scope-OrgID header on tenant routes. The app
	// owns the -auth.enabled flag and copies it here.
	AuthEnabled bool `yaml:"auth_enabled"`
	// NoAuthTenant is the single tenant used when AuthEnabled is false.
	NoAuthTenant string `yaml:"no_auth_tenant"`
	// MaxQueryPoints caps (end-start)/step of a range query.
	MaxQueryPoints int `yaml:"max_query_points"`
	// MaxRecvMsgSize caps the push body as received (compressed) in bytes.
	MaxRecvMsgSize int `yaml:"max_recv_msg_size"`
	// MaxDecompressedSize caps the push body after decompression in bytes.
	MaxDecompressedSize int64 `yaml:"max_decompressed_size"`
	// CompressResponses gzips JSON responses for clients that accept gzip.
	CompressResponses bool `yaml:"compress_responses"`
	// TailMaxDuration ends a live tail after this long (0: never).
	TailMaxDuration time.Duration `yaml:"tail_max_duration"`

	Build BuildInfo `yaml:"-"`
}

// DefaultConfig returns the defaults that RegisterFlags sets.
func DefaultConfig() Config {
	var cfg Config
	cfg.RegisterFlags(flag.NewFlagSet("", flag.ContinueOnError))
	return cfg
}

// RegisterFlags registers the flags Loki has for these settings, with Loki's
// names and defaults, and sets the defaults of the others.
func (cfg *Config) RegisterFlags(f *flag.FlagSet) {
	cfg.NoAuthTenant = "fake"
	cfg.MaxQueryPoints = 11000
	f.IntVar(&cfg.MaxRecvMsgSize, "distributor.max-recv-msg-size", 100<<20, "The maximum size of a received push body, before decompression.")
	f.Int64Var(&cfg.MaxDecompressedSize, "distributor.max-decompressed-size", 5000<<20, "The maximum size of a push body after decompression.")
	f.BoolVar(&cfg.CompressResponses, "querier.compress-http-responses", true, "Gzip JSON responses when the client accepts gzip.")
	f.DurationVar(&cfg.TailMaxDuration, "querier.tail-max-duration", time.Hour, "Maximum duration of a live tail request; 0 disables the limit.")
}

// Validate reports a setting that cannot work.
func (cfg *Config) Validate() error {
	if err := validateTenantID(cfg.NoAuthTenant); err != nil {
		return fmt.Errorf("invalid no_auth_tenant: %w", err)
	}
	switch {
	case cfg.MaxQueryPoints <= 0:
		return errors.New("max_query_points must be positive")
	case cfg.MaxRecvMsgSize <= 0:
		return errors.New("max_recv_msg_size must be positive")
	case cfg.MaxDecompressedSize <= 0:
		return errors.New("max_decompressed_size must be positive")
	case cfg.TailMaxDuration < 0:
		return errors.New("tail_max_duration must not be negative")
	}
	return nil
}

// API serves Loki's HTTP API over the dependencies it was built with.
type API struct {
	cfg      Config
	deps     Deps
	logger   *slog.Logger
	gatherer prometheus.Gatherer
	duration *prometheus.HistogramVec
	handler  http.Handler
	now      func() int64 // Unix nanoseconds; the default for missing times
	decoders pushDecoders
	tails    *tailSet
	tailPing time.Duration // how often a live tail pings the client
	// defaultLimits are the limits of every tenant when deps.Limits is nil.
	defaultLimits *validation.Limits
}

// New builds the API. reg receives the API's own metrics; gatherer is served
// on /metrics (nil: no /metrics route). A nil logger discards logs.
func New(cfg Config, deps Deps, logger *slog.Logger, reg prometheus.Registerer, gatherer prometheus.Gatherer) *API {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	a := &API{
		cfg:           cfg,
		deps:          deps,
		logger:        logger,
		gatherer:      gatherer,
		now:           func() int64 { return time.Now().UnixNano() },
		decoders:      defaultPushDecoders(),
		tails:         newTailSet(),
		tailPing:      tailPingPeriod,
		defaultLimits: newDefaultLimits(),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace:                   "skald",
			Name:                        "request_duration_seconds",
			Help:                        "Time (in seconds) spent serving HTTP requests, by route.",
			Buckets:                     prometheus.DefBuckets,
			NativeHistogramBucketFactor: 1.1,
		}, []string{"route", "method", "code"}),
	}
	if reg != nil {
		reg.MustRegister(a.duration)
	}
	a.handler = a.routes()
	return a
}

// Handler returns the root handler with every route.
func (a *API) Handler() http.Handler { return a.handler }

// Shutdown ends the live tails, which http.Server.Shutdown does not track
// (their connections are hijacked): each is closed with "going away", and
// Shutdown returns once their handlers have returned. Register it with
// http.Server.RegisterOnShutdown. New tails are refused afterwards.
func (a *API) Shutdown() { a.tails.shutdown() }

func (a *API) routes() *http.ServeMux {
	mux := http.NewServeMux()
	get, getPost, post := []string{http.MethodGet}, []string{http.MethodGet, http.MethodPost}, []string{http.MethodPost}

	if a.deps.Pusher != nil {
		a.handle(mux, "loki_api_v1_push", post, "/loki/api/v1/push", a.withTenant(a.pushHandler(false), true))
		a.handle(mux, "api_prom_push", post, "/api/prom/push", a.withTenant(a.pushHandler(true), true))
		a.handle(mux, "otlp_v1_logs", post, "/otlp/v1/logs", a.withTenant(a.otlpHandler(), true))
	}
	if a.deps.Engine != nil {
		a.handle(mux, "loki_api_v1_query_range", getPost, "/loki/api/v1/query_range", a.withTenant(a.queryRange, false))
		a.handle(mux, "loki_api_v1_query", getPost, "/loki/api/v1/query", a.withTenant(a.queryInstant, false))
		detectedFields := a.withTenant(a.detectedFields, false)
		a.handle(mux, "loki_api_v1_detected_fields", getPost, "/loki/api/v1/detected_fields", detectedFields)
		a.handle(mux, "loki_api_v1_detected_field_name_values", getPost, "/loki/api/v1/detected_field/{name}/values", detectedFields)
	}
	if a.deps.Tailer != nil {
		a.handle(mux, "loki_api_v1_tail", get, "/loki/api/v1/tail", a.withTenant(a.tail, false))
	}
	if a.deps.Volumes != nil {
		a.handle(mux, "loki_api_v1_index_volume", getPost, "/loki/api/v1/index/volume", a.withTenant(a.volumeInstant, false))
		a.handle(mux, "loki_api_v1_index_volume_range", getPost, "/loki/api/v1/index/volume_range", a.withTenant(a.volumeRange, false))
	}
	if a.deps.Detector != nil {
		a.handle(mux, "loki_api_v1_detected_labels", getPost, "/loki/api/v1/detected_labels", a.withTenant(a.detectedLabels, false))
	}
	a.handle(mux, "loki_api_v1_format_query", getPost, "/loki/api/v1/format_query", http.HandlerFunc(a.formatQuery))
	a.handle(mux, "loki_api_v1_drilldown_limits", get, "/loki/api/v1/drilldown-limits", a.withTenant(a.drilldownLimits, false))
	a.handle(mux, "loki_api_v1_patterns", getPost, "/loki/api/v1/patterns", a.withTenant(a.patterns, false))
	if a.deps.Metadata != nil {
		labelNames := a.withTenant(a.labelNames, false)
		labelValues := a.withTenant(a.labelValues, false)
		series := a.withTenant(a.series, false)
		a.handle(mux, "loki_api_v1_labels", getPost, "/loki/api/v1/labels", labelNames)
		a.handle(mux, "loki_api_v1_label_name_values", getPost, "/loki/api/v1/label/{name}/values", labelValues)
		a.handle(mux, "loki_api_v1_series", getPost, "/loki/api/v1/series", series)
		a.handle(mux, "loki_api_v1_index_stats", getPost, "/loki/api/v1/index/stats", a.withTenant(a.indexStats, false))
		a.handle(mux, "api_prom_label", get, "/api/prom/label", labelNames)
		a.handle(mux, "api_prom_label_name_values", get, "/api/prom/label/{name}/values", labelValues)
		a.handle(mux, "api_prom_series", get, "/api/prom/series", series)
	}
	if a.deps.Flusher != nil {
		a.handle(mux, "flush", getPost, "/flush", http.HandlerFunc(a.flush))
	}
	a.handle(mux, "ready", get, "/ready", http.HandlerFunc(a.ready))
	a.handle(mux, "loki_api_v1_status_buildinfo", get, "/loki/api/v1/status/buildinfo", http.HandlerFunc(a.buildInfo))
	if a.gatherer != nil {
		a.handle(mux, "metrics", get, "/metrics", promhttp.HandlerFor(a.gatherer, promhttp.HandlerOpts{}))
	}
	// Anything else falls through to the mux's own 404 "404 page not found",
	// which is byte for byte what Loki answers.
	return mux
}

// handle registers h for each method on path, instrumented under route, and
// a method-less fallback on the same path that answers 405 with an empty
// body, as Loki's router does (the mux's own 405 carries a text body).
func (a *API) handle(mux *http.ServeMux, route string, methods []string, path string, h http.Handler) {
	ih := promhttp.InstrumentHandlerDuration(a.duration.MustCurryWith(prometheus.Labels{"route": route}), h)
	for _, m := range methods {
		mux.Handle(m+" "+path, ih)
	}
	allow := strings.Join(methods, ", ")
	if len(methods) == 1 && methods[0] == http.MethodGet {
		allow = "GET, HEAD"
	}
	mux.Handle(path, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Allow", allow)
		w.Header().Set("Content-Length", "0")
		w.WriteHeader(http.StatusMethodNotAllowed)
	}))
}

// tenantHandler serves a request on behalf of one tenant.
type tenantHandler func(w http.ResponseWriter, r *http.Request, tenant string)

// withTenant resolves the tenant (§ tenant.go) before calling h. Push routes
// write errors the way Loki's push handler does (with a trailing newline).
func (a *API) withTenant(h tenantHandler, push bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tenant, err := a.tenant(r)
		if err != nil {
			// Loki's auth middleware answers a missing header with
			// http.Error on every route.
			if push || err == errNoOrgID {
				writePushError(w, err)
			} else {
				writeError(w, err)
			}
			return
		}
		h(w, r, tenant)
	})
}

func (a *API) ready(w http.ResponseWriter, r *http.Request) {
	if a.deps.Readiness != nil {
		if err := a.deps.Readiness.Ready(r.Context()); err != nil {
			http.Error(w, err.Error(), http.StatusServiceUnavailable)
			return
		}
	}
	http.Error(w, "ready", http.StatusOK)
}

func (a *API) flush(w http.ResponseWriter, r *http.Request) {
	if err := a.deps.Flusher.Flush(r.Context()); err != nil {
		writeError(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (a *API) buildInfo(w http.ResponseWriter, _ *http.Request) {
	b := a.cfg.Build
	buf := getBuffer()
	defer putBuffer(buf)
	out := append(*buf, `{"version":`...)
	out = appendString(out, b.Version, false)
	out = append(out, `,"revision":`...)
	out = appendString(out, b.Revision, false)
	out = append(out, `,"branch":`...)
	out = appendString(out, b.Branch, false)
	out = append(out, `,"buildUser":`...)
	out = appendString(out, b.BuildUser, false)
	out = append(out, `,"buildDate":`...)
	out = appendString(out, b.BuildDate, false)
	out = append(out, `,"goVersion":`...)
	out = appendString(out, b.GoVersion, false)
	out = append(out, "}\n"...)
	*buf = out
	// Loki answers this one route with a bare application/json.
	w.Header().Set("Content-Type", "application/json")
	a.writeBody(w, nil, out)
}
