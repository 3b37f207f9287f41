package ingester

import (
	"errors"
	"flag"
	"testing"

	"go.yaml.in/yaml/v3"
)

func TestByteSize(t *testing.T) {
	for _, tc := range []struct {
		in      string
		want    ByteSize
		str     string
		wantErr bool
	}{
		{"0", 0, "0", false},
		{"1234", 1234, "1234", false},
		{"512MB", 512 << 20, "512MB", false},
		{"512mb", 512 << 20, "512MB", false},
		{"4GB", 4 << 30, "4GB", false},
		{"1.5GiB", 3 << 29, "1536MB", false},
		{"64KiB", 64 << 10, "64KB", false},
		{"2 G", 2 << 30, "2GB", false},
		{"100B", 100, "100", false},
		{"", 0, "", true},
		{"-1MB", 0, "", true},
		{"MB", 0, "", true},
		{"12XB", 0, "", true},
		{"99999999TB", 0, "", true},
	} {
		var b ByteSize
		err := b.Set(tc.in)
		if (err != nil) != tc.wantErr {
			t.Errorf("Set(%q) error %v, want error %v", tc.in, err, tc.wantErr)
			continue
		}
		if err == nil && (b != tc.want || b.String() != tc.str) {
			t.Errorf("Set(%q) = %d (%s), want %d (%s)", tc.in, int64(b), b, int64(tc.want), tc.str)
		}
	}
	var cfg struct {
		Size ByteSize `yaml:"size"`
	}
	if err := yaml.Unmarshal([]byte("size: 256MB\n"), &cfg); err != nil || cfg.Size != 256<<20 {
		t.Fatalf("yaml: %v, %d", err, cfg.Size)
	}
}

func TestMemoryDetection(t *testing.T) {
	files := func(m map[string]string) func(string) ([]byte, error) {
		return func(p string) ([]byte, error) {
			if v, ok := m[p]; ok {
				return []byte(v), nil
			}
			return nil, errors.New("no such file")
		}
	}
	for _, tc := range []struct {
		name   string
		files  map[string]string
		cgroup int64
		ok     bool
	}{
		{"cgroup v2 limit", map[string]string{"/sys/fs/cgroup/memory.max": "2147483648\n"}, 2 << 30, true},
		{"cgroup v2 no limit", map[string]string{"/sys/fs/cgroup/memory.max": "max\n"}, 0, false},
		{"cgroup v1 limit", map[string]string{"/sys/fs/cgroup/memory/memory.limit_in_bytes": "536870912"}, 512 << 20, true},
		{"cgroup v1 no limit", map[string]string{"/sys/fs/cgroup/memory/memory.limit_in_bytes": "9223372036854771712"}, 0, false},
		{"garbage", map[string]string{"/sys/fs/cgroup/memory.max": "lots"}, 0, false},
		{"none", nil, 0, false},
	} {
		got, ok := cgroupMemoryLimit(files(tc.files))
		if got != tc.cgroup || ok != tc.ok {
			t.Errorf("%s: cgroupMemoryLimit = %d, %v; want %d, %v", tc.name, got, ok, tc.cgroup, tc.ok)
		}
	}
	meminfo := "MemTotal:       24684348 kB\nMemFree:        21852244 kB\n"
	if got, ok := physicalMemory(files(map[string]string{"/proc/meminfo": meminfo})); !ok || got != 24684348<<10 {
		t.Errorf("physicalMemory = %d, %v", got, ok)
	}
	if _, ok := physicalMemory(files(map[string]string{"/proc/meminfo": "MemFree: 1 kB\n"})); ok {
		t.Error("physicalMemory without MemTotal reported a size")
	}
	if lim := autoMemoryLimit(); lim < minAutoLimit {
		t.Errorf("autoMemoryLimit = %d, below the floor", lim)
	}
}

func TestConfigValidate(t *testing.T) {
	valid := func() Config {
		var c Config
		c.RegisterFlags(flag.NewFlagSet("", flag.PanicOnError))
		c.ID = "x"
		c.WAL.Dir = "/tmp/wal"
		return c
	}
	if err := func() error { c := valid(); return c.Validate() }(); err != nil {
		t.Fatalf("defaults: %v", err)
	}
	for name, mutate := range map[string]func(*Config){
		"bad sync policy":          func(c *Config) { c.WAL.Sync = "sometimes" },
		"zero checkpoint duration": func(c *Config) { c.WAL.CheckpointDuration = 0 },
		"zero sync period":         func(c *Config) { c.WAL.SyncPeriod = 0 },
		"max backoff below min":    func(c *Config) { c.FlushOpBackoff.MaxBackoff = c.FlushOpBackoff.MinBackoff / 2 },
		"negative retries":         func(c *Config) { c.FlushOpBackoff.MaxRetries = -1 },
		"negative memory limit":    func(c *Config) { c.MaxUnflushedBytes = -1 },
		"negative memory budget":   func(c *Config) { c.MemoryBudget = -1 },
		"zero flush op timeout":    func(c *Config) { c.FlushOpTimeout = 0 },
	} {
		c := valid()
		mutate(&c)
		if err := c.Validate(); err == nil {
			t.Errorf("%s: Validate accepted it", name)
		}
	}
}
