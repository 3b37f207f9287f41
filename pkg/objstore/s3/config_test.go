package s3

import (
	"bytes"
	"flag"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/aws/smithy-go/logging"
	"go.yaml.in/yaml/v3"
)

func TestRegisterFlags(t *testing.T) {
	var cfg Config
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	cfg.RegisterFlags(fs)
	want := Config{Region: "us-east-1", MaxAttempts: 5, MaxBackoff: 3 * time.Second, RequestTimeout: 15 * time.Second}
	if cfg != want {
		t.Errorf("defaults = %+v, want %+v", cfg, want)
	}
	err := fs.Parse([]string{
		"-s3.endpoint=minio:9000", "-s3.bucket=logs", "-s3.region=eu-west-1",
		"-s3.access-key-id=id", "-s3.secret-access-key=secret",
		"-s3.force-path-style", "-s3.insecure",
		"-s3.max-attempts=7", "-s3.max-backoff=1s", "-s3.request-timeout=2s",
	})
	if err != nil {
		t.Fatal(err)
	}
	want = Config{
		Endpoint: "minio:9000", Bucket: "logs", Region: "eu-west-1",
		AccessKeyID: "id", SecretAccessKey: "secret", ForcePathStyle: true, Insecure: true,
		MaxAttempts: 7, MaxBackoff: time.Second, RequestTimeout: 2 * time.Second,
	}
	if cfg != want {
		t.Errorf("parsed = %+v, want %+v", cfg, want)
	}
}

func TestConfigYAML(t *testing.T) {
	in := `
endpoint: s3.example.com
bucket: logs
region: us-east-2
access_key_id: id
secret_access_key: secret
force_path_style: true
insecure: false
max_attempts: 4
max_backoff: 500ms
request_timeout: 1m
`
	var cfg Config
	if err := yaml.Unmarshal([]byte(in), &cfg); err != nil {
		t.Fatal(err)
	}
	want := Config{
		Endpoint: "s3.example.com", Bucket: "logs", Region: "us-east-2",
		AccessKeyID: "id", SecretAccessKey: "secret", ForcePathStyle: true,
		MaxAttempts: 4, MaxBackoff: 500 * time.Millisecond, RequestTimeout: time.Minute,
	}
	if cfg != want {
		t.Errorf("yaml = %+v, want %+v", cfg, want)
	}
}

func TestValidate(t *testing.T) {
	valid := Config{Bucket: "b", Region: "us-east-1", MaxAttempts: 1, RequestTimeout: time.Second}
	tests := []struct {
		name   string
		change func(*Config)
		ok     bool
	}{
		{"valid", func(*Config) {}, true},
		{"static credentials", func(c *Config) { c.AccessKeyID, c.SecretAccessKey = "id", "s" }, true},
		{"host endpoint", func(c *Config) { c.Endpoint = "minio:9000" }, true},
		{"url endpoint", func(c *Config) { c.Endpoint = "https://s3.example.com" }, true},
		{"no bucket", func(c *Config) { c.Bucket = "" }, false},
		{"no region", func(c *Config) { c.Region = "" }, false},
		{"only access key", func(c *Config) { c.AccessKeyID = "id" }, false},
		{"only secret", func(c *Config) { c.SecretAccessKey = "s" }, false},
		{"zero attempts", func(c *Config) { c.MaxAttempts = 0 }, false},
		{"negative backoff", func(c *Config) { c.MaxBackoff = -time.Second }, false},
		{"zero timeout", func(c *Config) { c.RequestTimeout = 0 }, false},
		{"ftp endpoint", func(c *Config) { c.Endpoint = "ftp://host" }, false},
		{"endpoint without host", func(c *Config) { c.Endpoint = "http://" }, false},
		{"bad endpoint", func(c *Config) { c.Endpoint = "host:port:x%zz" }, false},
	}
	for _, tc := range tests {
		cfg := valid
		tc.change(&cfg)
		err := cfg.Validate()
		if tc.ok && err != nil {
			t.Errorf("%s: Validate = %v", tc.name, err)
		}
		if !tc.ok && err == nil {
			t.Errorf("%s: Validate succeeded", tc.name)
		}
		if _, nerr := New(cfg, nil, nil); (nerr == nil) != tc.ok {
			t.Errorf("%s: New error = %v, Validate error = %v", tc.name, nerr, err)
		}
	}
}

func TestEndpointURL(t *testing.T) {
	tests := []struct {
		endpoint string
		insecure bool
		want     string
	}{
		{"", false, ""},
		{"", true, ""},
		{"minio:9000", false, "https://minio:9000"},
		{"minio:9000", true, "http://minio:9000"},
		{"127.0.0.1:7070", true, "http://127.0.0.1:7070"},
		{"http://minio:9000", false, "http://minio:9000"},
		{"https://s3.example.com", true, "https://s3.example.com"},
	}
	for _, tc := range tests {
		cfg := Config{Endpoint: tc.endpoint, Insecure: tc.insecure}
		got, err := cfg.endpointURL()
		if err != nil || got != tc.want {
			t.Errorf("endpointURL(%q, insecure=%v) = %q, %v; want %q", tc.endpoint, tc.insecure, got, err, tc.want)
		}
	}
}

func TestLogValueHidesSecret(t *testing.T) {
	var buf bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&buf, nil))
	logger.Info("config", "s3", Config{Bucket: "b", AccessKeyID: "AKIAEXAMPLE", SecretAccessKey: "very-secret-key"})
	out := buf.String()
	if strings.Contains(out, "very-secret-key") {
		t.Errorf("log line shows the secret: %s", out)
	}
	for _, want := range []string{"s3.bucket=b", "s3.access_key_id=AKIAEXAMPLE", "s3.secret_access_key=<redacted>"} {
		if !strings.Contains(out, want) {
			t.Errorf("log line %q lacks %q", out, want)
		}
	}
}

func TestSDKLogger(t *testing.T) {
	var buf bytes.Buffer
	l := sdkLogger{slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelWarn}))}
	l.Logf(logging.Debug, "debug %d", 1)
	l.Logf(logging.Warn, "warn %d", 2)
	out := buf.String()
	if strings.Contains(out, "debug 1") || !strings.Contains(out, "level=WARN") || !strings.Contains(out, "aws sdk: warn 2") {
		t.Errorf("logged %q, want only the warning", out)
	}
}
