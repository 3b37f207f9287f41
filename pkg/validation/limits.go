package validation

import (
	"flag"
	"fmt"
	"time"

	"github.com/prometheus/common/model"
)

// Limits are the per-tenant limits, named and defaulted as Loki's
// limits_config. Durations use Prometheus' notation in YAML ("7d", "1h").
type Limits struct {
	// Write path.
	MaxLabelNamesPerSeries       int            `yaml:"max_label_names_per_series"`
	MaxLabelNameLength           int            `yaml:"max_label_name_length"`
	MaxLabelValueLength          int            `yaml:"max_label_value_length"`
	MaxLineSize                  int            `yaml:"max_line_size"`
	MaxLineSizeTruncate          bool           `yaml:"max_line_size_truncate"`
	RejectOldSamples             bool           `yaml:"reject_old_samples"`
	RejectOldSamplesMaxAge       model.Duration `yaml:"reject_old_samples_max_age"`
	CreationGracePeriod          model.Duration `yaml:"creation_grace_period"`
	IngestionRateMB              float64        `yaml:"ingestion_rate_mb"`
	IngestionBurstSizeMB         float64        `yaml:"ingestion_burst_size_mb"`
	MaxGlobalStreamsPerUser      int            `yaml:"max_global_streams_per_user"`
	AllowStructuredMetadata      bool           `yaml:"allow_structured_metadata"`
	MaxStructuredMetadataSize    int            `yaml:"max_structured_metadata_size"`
	MaxStructuredMetadataEntries int            `yaml:"max_structured_metadata_entries_count"`
	DiscoverServiceName          []string       `yaml:"discover_service_name"`
	DiscoverLogLevels            bool           `yaml:"discover_log_levels"`
	LogLevelFields               []string       `yaml:"log_level_fields"`

	// Read path.
	MaxEntriesLimitPerQuery int            `yaml:"max_entries_limit_per_query"`
	MaxQueryLength          model.Duration `yaml:"max_query_length"`
	MaxQueryLookback        model.Duration `yaml:"max_query_lookback"`
	MaxQuerySeries          int            `yaml:"max_query_series"`
	QueryTimeout            model.Duration `yaml:"query_timeout"`
}

// DefaultServiceNameLabels are the labels Loki takes service_name from, in
// order of preference.
var DefaultServiceNameLabels = []string{
	"service", "app", "application", "app_name", "name", "app_kubernetes_io_name",
	"container", "container_name", "k8s_container_name", "component", "workload",
	"job", "k8s_job_name",
}

// DefaultLogLevelFields are the label, structured-metadata and line fields
// that name an entry's level, in order of preference.
var DefaultLogLevelFields = []string{
	"level", "LEVEL", "Level", "log.level", "severity", "SEVERITY", "Severity",
	"SeverityText", "lvl", "LVL", "Lvl", "severity_text", "Severity_Text", "SEVERITY_TEXT",
}

// RegisterFlags registers the limits under Loki's flag names, with Loki's
// defaults.
func (l *Limits) RegisterFlags(f *flag.FlagSet) {
	f.IntVar(&l.MaxLabelNamesPerSeries, "validation.max-label-names-per-series", 15, "Maximum number of label names per stream.")
	f.IntVar(&l.MaxLabelNameLength, "validation.max-length-label-name", 1024, "Maximum length of a label name, in bytes.")
	f.IntVar(&l.MaxLabelValueLength, "validation.max-length-label-value", 2048, "Maximum length of a label value, in bytes.")
	f.IntVar(&l.MaxLineSize, "distributor.max-line-size", 256<<10, "Maximum line size in bytes; 0 disables the check.")
	f.BoolVar(&l.MaxLineSizeTruncate, "distributor.max-line-size-truncate", false, "Truncate lines over the maximum size instead of rejecting them.")
	f.BoolVar(&l.RejectOldSamples, "validation.reject-old-samples", true, "Reject entries older than -validation.reject-old-samples.max-age.")
	l.RejectOldSamplesMaxAge = model.Duration(7 * 24 * time.Hour)
	f.Var(&l.RejectOldSamplesMaxAge, "validation.reject-old-samples.max-age", "Maximum accepted age of an entry.")
	l.CreationGracePeriod = model.Duration(10 * time.Minute)
	f.Var(&l.CreationGracePeriod, "validation.create-grace-period", "How far in the future an entry's timestamp may be.")
	f.Float64Var(&l.IngestionRateMB, "distributor.ingestion-rate-limit-mb", 4, "Per-tenant ingestion rate limit in MB/s of log lines.")
	f.Float64Var(&l.IngestionBurstSizeMB, "distributor.ingestion-burst-size-mb", 6, "Per-tenant ingestion burst size in MB.")
	f.IntVar(&l.MaxGlobalStreamsPerUser, "ingester.max-global-streams-per-user", 5000, "Maximum number of active streams per tenant; 0 disables the limit.")
	f.BoolVar(&l.AllowStructuredMetadata, "validation.allow-structured-metadata", true, "Accept structured metadata on entries.")
	f.IntVar(&l.MaxStructuredMetadataSize, "limits.max-structured-metadata-size", 64<<10, "Maximum size of an entry's structured metadata, in bytes.")
	f.IntVar(&l.MaxStructuredMetadataEntries, "limits.max-structured-metadata-entries-count", 128, "Maximum number of structured-metadata pairs per entry.")
	l.DiscoverServiceName = DefaultServiceNameLabels
	f.BoolVar(&l.DiscoverLogLevels, "validation.discover-log-levels", true, "Add a detected_level structured-metadata field to every entry.")
	f.IntVar(&l.MaxEntriesLimitPerQuery, "validation.max-entries-limit", 5000, "Maximum number of entries a log query may return.")
	l.MaxQueryLength = model.Duration(721 * time.Hour)
	f.Var(&l.MaxQueryLength, "store.max-query-length", "Maximum time range of a query.")
	f.Var(&l.MaxQueryLookback, "querier.max-query-lookback", "How far back queries may look; 0 is unlimited.")
	f.IntVar(&l.MaxQuerySeries, "querier.max-query-series", 500, "Maximum number of series a metric query may return.")
	l.QueryTimeout = model.Duration(time.Minute)
	f.Var(&l.QueryTimeout, "querier.query-timeout", "Time after which a query is cancelled.")
}

// Validate reports limits that cannot work.
func (l *Limits) Validate() error {
	if l.MaxLabelNamesPerSeries < 1 {
		return fmt.Errorf("max_label_names_per_series must be at least 1")
	}
	if l.IngestionRateMB <= 0 || l.IngestionBurstSizeMB <= 0 {
		return fmt.Errorf("ingestion_rate_mb and ingestion_burst_size_mb must be positive")
	}
	return nil
}

// Overrides resolves the limits of a tenant: the defaults, or the tenant's own
// set when one is configured.
type Overrides struct {
	defaults  Limits
	perTenant map[string]*Limits
}

// NewOverrides returns overrides with the given defaults and per-tenant sets.
func NewOverrides(defaults Limits, perTenant map[string]*Limits) *Overrides {
	return &Overrides{defaults: defaults, perTenant: perTenant}
}

// For returns the limits of tenant. The result must not be modified.
func (o *Overrides) For(tenant string) *Limits {
	if l, ok := o.perTenant[tenant]; ok {
		return l
	}
	return &o.defaults
}
