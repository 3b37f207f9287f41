package app

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestLoadExampleConfig(t *testing.T) {
	cfg, err := Load([]string{"-config.file=../../production/skald.yaml"})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Server.HTTPListenPort != 3100 || cfg.Ingester.MaxChunkAge != 2*time.Hour || cfg.Limits.MaxQuerySeries != 500 {
		t.Errorf("example config not read as written: %+v", cfg.Server)
	}
	o, err := cfg.overrides()
	if err != nil {
		t.Fatal(err)
	}
	if got := o.For("big-tenant").IngestionRateMB; got != 64 {
		t.Errorf("override rate %v, want 64", got)
	}
	if got := o.For("big-tenant").MaxLabelNamesPerSeries; got != 15 {
		t.Errorf("override should start from the defaults: max labels %v", got)
	}
	if got := o.For("other").IngestionRateMB; got != 4 {
		t.Errorf("default tenant rate %v, want 4", got)
	}
}

func TestFlagsOverrideFile(t *testing.T) {
	f := filepath.Join(t.TempDir(), "c.yaml")
	if err := os.WriteFile(f, []byte("server:\n  http_listen_port: 4000\n  log_level: debug\ncommon:\n  path_prefix: /tmp/x\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := Load([]string{"-config.file=" + f, "-server.http-listen-port=5000"})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Server.HTTPListenPort != 5000 || cfg.Server.LogLevel != "debug" || cfg.Common.PathPrefix != "/tmp/x" {
		t.Errorf("got port %d level %s prefix %s", cfg.Server.HTTPListenPort, cfg.Server.LogLevel, cfg.Common.PathPrefix)
	}
	if cfg.filesystemDir() != "/tmp/x/objects" {
		t.Errorf("filesystem dir %s", cfg.filesystemDir())
	}
}

func TestConfigErrors(t *testing.T) {
	f := filepath.Join(t.TempDir(), "c.yaml")
	if err := os.WriteFile(f, []byte("no_such_key: 1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"-config.file=" + f},
		{"-target=nope"},
		{"-storage.backend=tape"},
		{"-storage.backend=s3"}, // no bucket
	} {
		if _, err := Load(args); err == nil {
			t.Errorf("%v: no error", args)
		}
	}
}
