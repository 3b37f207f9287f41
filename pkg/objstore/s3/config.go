package s3

import (
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"time"
)

// Config configures an S3 bucket. The zero value is not valid; RegisterFlags
// sets the defaults.
type Config struct {
	// Endpoint is the host[:port] of an S3-compatible server, or a URL with
	// an http or https scheme. Empty means AWS S3 for Region.
	Endpoint string `yaml:"endpoint"`
	// Bucket is the name of the bucket that holds the objects.
	Bucket string `yaml:"bucket"`
	// Region is the region requests are signed for.
	Region string `yaml:"region"`
	// AccessKeyID and SecretAccessKey are static credentials. When both are
	// empty, the AWS default credential chain is used (AWS_ACCESS_KEY_ID and
	// AWS_SECRET_ACCESS_KEY, shared config files, web identity, instance
	// roles).
	AccessKeyID     string `yaml:"access_key_id"`
	SecretAccessKey string `yaml:"secret_access_key"`
	// ForcePathStyle addresses the bucket as http://endpoint/bucket instead
	// of http://bucket.endpoint. Most S3-compatible servers need it.
	ForcePathStyle bool `yaml:"force_path_style"`
	// Insecure talks plain HTTP to an Endpoint given without a scheme.
	Insecure bool `yaml:"insecure"`
	// MaxAttempts is the number of attempts of one request, the first one
	// included, before a retryable error (a network error, a 5xx, a
	// throttling answer) is returned.
	MaxAttempts int `yaml:"max_attempts"`
	// MaxBackoff caps the randomized exponential delay between attempts.
	MaxBackoff time.Duration `yaml:"max_backoff"`
	// RequestTimeout bounds one attempt's connection set-up and its wait
	// for the response headers. Reading a response body is bounded by the
	// caller's context only.
	RequestTimeout time.Duration `yaml:"request_timeout"`
}

// Defaults of the flags.
const (
	DefaultRegion         = "us-east-1"
	DefaultMaxAttempts    = 5
	DefaultMaxBackoff     = 3 * time.Second
	DefaultRequestTimeout = 15 * time.Second
)

// RegisterFlags registers the flags of Config on f, with their defaults.
func (c *Config) RegisterFlags(f *flag.FlagSet) {
	f.StringVar(&c.Endpoint, "s3.endpoint", "", "S3 endpoint: host[:port] or a URL. Empty means AWS S3 in -s3.region.")
	f.StringVar(&c.Bucket, "s3.bucket", "", "S3 bucket name.")
	f.StringVar(&c.Region, "s3.region", DefaultRegion, "S3 region.")
	f.StringVar(&c.AccessKeyID, "s3.access-key-id", "", "S3 access key ID. Empty means the AWS default credential chain (e.g. AWS_ACCESS_KEY_ID).")
	f.StringVar(&c.SecretAccessKey, "s3.secret-access-key", "", "S3 secret access key. Empty means the AWS default credential chain (e.g. AWS_SECRET_ACCESS_KEY).")
	f.BoolVar(&c.ForcePathStyle, "s3.force-path-style", false, "Use path-style addressing (endpoint/bucket/key), as most S3-compatible servers need.")
	f.BoolVar(&c.Insecure, "s3.insecure", false, "Use plain HTTP to an endpoint given without a scheme.")
	f.IntVar(&c.MaxAttempts, "s3.max-attempts", DefaultMaxAttempts, "Attempts of one S3 request, the first included, before a retryable error is returned.")
	f.DurationVar(&c.MaxBackoff, "s3.max-backoff", DefaultMaxBackoff, "Maximum delay between two attempts of an S3 request.")
	f.DurationVar(&c.RequestTimeout, "s3.request-timeout", DefaultRequestTimeout, "Timeout of one S3 request attempt to connect and receive the response headers.")
}

// Validate reports whether the config is usable.
func (c *Config) Validate() error {
	switch {
	case c.Bucket == "":
		return errors.New("s3: bucket is empty")
	case c.Region == "":
		return errors.New("s3: region is empty")
	case (c.AccessKeyID == "") != (c.SecretAccessKey == ""):
		return errors.New("s3: set both or neither of access key ID and secret access key")
	case c.MaxAttempts < 1:
		return fmt.Errorf("s3: max attempts is %d, want at least 1", c.MaxAttempts)
	case c.MaxBackoff < 0:
		return fmt.Errorf("s3: max backoff is negative: %v", c.MaxBackoff)
	case c.RequestTimeout <= 0:
		return fmt.Errorf("s3: request timeout is %v, want more than 0", c.RequestTimeout)
	}
	_, err := c.endpointURL()
	return err
}

// endpointURL returns the base URL of the endpoint, or "" for AWS S3.
func (c *Config) endpointURL() (string, error) {
	if c.Endpoint == "" {
		return "", nil
	}
	raw := c.Endpoint
	if !strings.Contains(raw, "://") {
		scheme := "https://"
		if c.Insecure {
			scheme = "http://"
		}
		raw = scheme + raw
	}
	u, err := url.Parse(raw)
	if err != nil {
		return "", fmt.Errorf("s3: endpoint %q: %w", c.Endpoint, err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", fmt.Errorf("s3: endpoint %q: want host[:port] or an http(s) URL", c.Endpoint)
	}
	return raw, nil
}

// LogValue implements slog.LogValuer; it leaves out the secret key.
func (c Config) LogValue() slog.Value {
	secret := ""
	if c.SecretAccessKey != "" {
		secret = "<redacted>"
	}
	return slog.GroupValue(
		slog.String("endpoint", c.Endpoint),
		slog.String("bucket", c.Bucket),
		slog.String("region", c.Region),
		slog.String("access_key_id", c.AccessKeyID),
		slog.String("secret_access_key", secret),
		slog.Bool("force_path_style", c.ForcePathStyle),
		slog.Bool("insecure", c.Insecure),
		slog.Int("max_attempts", c.MaxAttempts),
		slog.Duration("max_backoff", c.MaxBackoff),
		slog.Duration("request_timeout", c.RequestTimeout),
	)
}
