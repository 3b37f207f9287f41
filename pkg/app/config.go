package app

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/skald-logs/skald/pkg/api"
	"github.com/skald-logs/skald/pkg/compactor"
	"github.com/skald-logs/skald/pkg/ingester"
	"github.com/skald-logs/skald/pkg/ingester/client"
	"github.com/skald-logs/skald/pkg/objstore/s3"
	"github.com/skald-logs/skald/pkg/querier"
	"github.com/skald-logs/skald/pkg/ring"
	"github.com/skald-logs/skald/pkg/ring/memberlist"
	"github.com/skald-logs/skald/pkg/storage"
	"github.com/skald-logs/skald/pkg/validation"
)

// Config is the whole configuration of a skald process: the YAML file given
// by -config.file, with command-line flags taking precedence. Keys follow
// Loki's configuration file where Loki has the same setting.
type Config struct {
	Target      string `yaml:"target"`
	AuthEnabled bool   `yaml:"auth_enabled"`

	Server  ServerConfig  `yaml:"server"`
	Common  CommonConfig  `yaml:"common"`
	Storage StorageConfig `yaml:"storage_config"`

	Limits         validation.Limits `yaml:"limits_config"`
	Ingester       IngesterConfig    `yaml:"ingester"`
	IngesterClient client.Config     `yaml:"ingester_client"`
	Memberlist     memberlist.Config `yaml:"memberlist"`
	Querier        querier.Config    `yaml:"querier"`
	Store          storage.Config    `yaml:"store"`
	Compactor      compactor.Config  `yaml:"compactor"`
	API            api.Config        `yaml:"api"`

	// Overrides are per-tenant limits; each starts from limits_config.
	Overrides map[string]yaml.Node `yaml:"overrides"`
}

// IngesterConfig is Loki's ingester block: the ingester's own settings and
// its lifecycler (how it takes part in the ring, with the ring itself).
type IngesterConfig struct {
	ingester.Config `yaml:",inline"`
	Lifecycler      ring.LifecyclerConfig `yaml:"lifecycler"`
}

// ServerConfig are the listening addresses, the gRPC server's limits and
// logging, with Loki's (dskit's) names.
type ServerConfig struct {
	HTTPListenAddress string `yaml:"http_listen_address"`
	HTTPListenPort    int    `yaml:"http_listen_port"`
	GRPCListenAddress string `yaml:"grpc_listen_address"`
	GRPCListenPort    int    `yaml:"grpc_listen_port"`
	LogLevel          string `yaml:"log_level"`

	GRPCMaxRecvMsgSize       int           `yaml:"grpc_server_max_recv_msg_size"`
	GRPCMaxSendMsgSize       int           `yaml:"grpc_server_max_send_msg_size"`
	GRPCMaxConcurrentStreams uint          `yaml:"grpc_server_max_concurrent_streams"`
	GRPCKeepaliveTime        time.Duration `yaml:"grpc_server_keepalive_time"`
	GRPCKeepaliveTimeout     time.Duration `yaml:"grpc_server_keepalive_timeout"`
	GRPCMinTimeBetweenPings  time.Duration `yaml:"grpc_server_min_time_between_pings"`
	GRPCPingWithoutStream    bool          `yaml:"grpc_server_ping_without_stream_allowed"`
	GracefulShutdownTimeout  time.Duration `yaml:"graceful_shutdown_timeout"`
	// MemoryLimit is the Go runtime's soft memory limit (memlimit.go).
	MemoryLimit memoryLimit `yaml:"memory_limit"`
}

// CommonConfig holds settings shared by components.
type CommonConfig struct {
	// PathPrefix is the data directory: the filesystem object store and the
	// WAL live under it.
	PathPrefix string `yaml:"path_prefix"`
}

// StorageConfig selects and configures the object store.
type StorageConfig struct {
	Backend    string           `yaml:"backend"`
	Filesystem FilesystemConfig `yaml:"filesystem"`
	S3         s3.Config        `yaml:"s3"`
}

// FilesystemConfig configures the embedded filesystem object store.
type FilesystemConfig struct {
	// Directory of the objects; empty means <path_prefix>/objects.
	Directory string `yaml:"directory"`
}

// RegisterFlags registers every flag with its default.
func (c *Config) RegisterFlags(f *flag.FlagSet) {
	f.StringVar(&c.Target, "target", "all", "Comma-separated components to run: all (everything in one process, no ring), or any of distributor, ingester, querier, compactor (a cluster joined by the ring).")
	f.BoolVar(&c.AuthEnabled, "auth.enabled", false, "Require X-Scope-OrgID on every request; when false everything belongs to tenant 'fake'.")
	f.StringVar(&c.Server.HTTPListenAddress, "server.http-listen-address", "", "HTTP listen address; empty listens on all interfaces.")
	f.IntVar(&c.Server.HTTPListenPort, "server.http-listen-port", 3100, "HTTP listen port.")
	f.StringVar(&c.Server.GRPCListenAddress, "server.grpc-listen-address", "", "gRPC listen address; empty listens on all interfaces.")
	f.IntVar(&c.Server.GRPCListenPort, "server.grpc-listen-port", 9095, "gRPC listen port (cluster targets; -target=all does not listen on gRPC).")
	f.IntVar(&c.Server.GRPCMaxRecvMsgSize, "server.grpc-max-recv-msg-size-bytes", 100<<20, "Largest gRPC message the server accepts (bytes).")
	f.IntVar(&c.Server.GRPCMaxSendMsgSize, "server.grpc-max-send-msg-size-bytes", 100<<20, "Largest gRPC message the server sends (bytes).")
	f.UintVar(&c.Server.GRPCMaxConcurrentStreams, "server.grpc-max-concurrent-streams", 1000, "Concurrent gRPC streams per connection.")
	f.DurationVar(&c.Server.GRPCKeepaliveTime, "server.grpc.keepalive.time", 2*time.Hour, "Idle time after which the server pings a client connection.")
	f.DurationVar(&c.Server.GRPCKeepaliveTimeout, "server.grpc.keepalive.timeout", 20*time.Second, "Time the server waits for a ping answer before it closes the connection.")
	f.DurationVar(&c.Server.GRPCMinTimeBetweenPings, "server.grpc.keepalive.min-time-between-pings", 10*time.Second, "Clients pinging more often are disconnected.")
	f.BoolVar(&c.Server.GRPCPingWithoutStream, "server.grpc.keepalive.ping-without-stream-allowed", true, "Allow clients to ping without an active stream.")
	f.DurationVar(&c.Server.GracefulShutdownTimeout, "server.graceful-shutdown-timeout", 30*time.Second, "Time to let in-flight requests finish on shutdown.")
	f.StringVar(&c.Server.LogLevel, "log.level", "info", "Log level: debug, info, warn, error.")
	c.Server.MemoryLimit = memoryLimitAuto
	f.Var(&c.Server.MemoryLimit, "server.memory-limit", "Soft memory limit of the Go runtime: the garbage collector runs more often as the process nears it. auto (the default) is twice -ingester.memory-budget plus 16MB in a process that runs an ingester, and no limit otherwise; off leaves the runtime's default; or a size, e.g. 512MB. The limit is raised while more than two thirds of it is live, so it never makes the collector run without pause. The GOMEMLIMIT environment variable, if set, wins.")
	f.StringVar(&c.Common.PathPrefix, "common.path-prefix", "./data", "Data directory.")
	f.StringVar(&c.Storage.Backend, "storage.backend", "filesystem", "Object store: filesystem or s3.")
	f.StringVar(&c.Storage.Filesystem.Directory, "filesystem.directory", "", "Directory of the filesystem object store (default <common.path-prefix>/objects).")
	c.Storage.S3.RegisterFlags(f)
	c.Limits.RegisterFlags(f)
	c.Ingester.RegisterFlags(f)
	c.Ingester.Lifecycler.RegisterFlags(f)
	c.IngesterClient.RegisterFlags(f)
	c.Memberlist.RegisterFlags(f)
	c.Querier.RegisterFlags(f)
	c.Store.RegisterFlags(f)
	c.Compactor.RegisterFlags(f)
	c.API.RegisterFlags(f) // its query limits are per tenant, in Limits
}

// Validate reports configurations that cannot work.
func (c *Config) Validate() error {
	if _, err := c.targets(); err != nil {
		return err
	}
	switch c.Storage.Backend {
	case "filesystem":
	case "s3":
		if err := c.Storage.S3.Validate(); err != nil {
			return err
		}
	default:
		return fmt.Errorf("unknown -storage.backend %q (want filesystem or s3)", c.Storage.Backend)
	}
	if c.Common.PathPrefix == "" {
		return errors.New("-common.path-prefix must not be empty")
	}
	for _, v := range []interface{ Validate() error }{&c.Limits, &c.Ingester.Config, &c.Store, &c.Compactor, &c.Ingester.Lifecycler.Ring, &c.IngesterClient, &c.Memberlist} {
		if err := v.Validate(); err != nil {
			return err
		}
	}
	if c.Compactor.DeleteDelay <= c.Store.IndexRefreshPeriod {
		return fmt.Errorf("-compactor.delete-delay (%s) must be longer than -store.index-refresh-period (%s), or queriers may miss merged data", c.Compactor.DeleteDelay, c.Store.IndexRefreshPeriod)
	}
	return nil
}

func (c *Config) filesystemDir() string {
	if c.Storage.Filesystem.Directory != "" {
		return c.Storage.Filesystem.Directory
	}
	return filepath.Join(c.Common.PathPrefix, "objects")
}

// The targets a process can run.
const (
	TargetAll         = "all"
	TargetDistributor = "distributor"
	TargetIngester    = "ingester"
	TargetQuerier     = "querier"
	TargetCompactor   = "compactor"
)

var knownTargets = map[string]bool{
	TargetAll: true, TargetDistributor: true, TargetIngester: true, TargetQuerier: true, TargetCompactor: true,
}

// targets parses -target: all alone, or a set of cluster components.
func (c *Config) targets() (map[string]bool, error) {
	out := map[string]bool{}
	for _, t := range strings.Split(c.Target, ",") {
		t = strings.TrimSpace(t)
		if !knownTargets[t] {
			return nil, fmt.Errorf("unknown -target %q: want all, or a comma-separated set of distributor, ingester, querier, compactor", t)
		}
		out[t] = true
	}
	if out[TargetAll] && len(out) > 1 {
		return nil, fmt.Errorf("-target=%s: all runs every component already; it cannot be combined", c.Target)
	}
	return out, nil
}

// overrides builds the per-tenant limits: each tenant's YAML applied over a
// copy of the defaults.
func (c *Config) overrides() (*validation.Overrides, error) {
	per := map[string]*validation.Limits{}
	for tenant, node := range c.Overrides {
		l := c.Limits
		if err := node.Decode(&l); err != nil {
			return nil, fmt.Errorf("overrides for tenant %q: %w", tenant, err)
		}
		per[tenant] = &l
	}
	return validation.NewOverrides(c.Limits, per), nil
}

// Load parses args into a Config: defaults, then the YAML file named by
// -config.file, then the flags given on the command line.
func Load(args []string) (*Config, error) {
	var cfg Config
	fs := flag.NewFlagSet("skald", flag.ContinueOnError)
	configFile := fs.String("config.file", "", "YAML configuration file; flags given on the command line override it.")
	expandEnv := fs.Bool("config.expand-env", false, "Expand ${VAR} references in the configuration file.")
	printVersion := fs.Bool("version", false, "Print the version and exit.")
	cfg.RegisterFlags(fs)
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if *printVersion {
		fmt.Println(VersionString())
		os.Exit(0)
	}
	if *configFile != "" {
		data, err := os.ReadFile(*configFile)
		if err != nil {
			return nil, fmt.Errorf("read config: %w", err)
		}
		if *expandEnv {
			data = []byte(os.ExpandEnv(string(data)))
		}
		dec := yaml.NewDecoder(bytes.NewReader(data))
		dec.KnownFields(true)
		if err := dec.Decode(&cfg); err != nil && !errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("parse config %s: %w", *configFile, err)
		}
		// Flags given on the command line win over the file.
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected arguments: %v", fs.Args())
	}
	if cfg.Ingester.WAL.Dir == "" {
		cfg.Ingester.WAL.Dir = filepath.Join(cfg.Common.PathPrefix, "wal")
	}
	return &cfg, cfg.Validate()
}
