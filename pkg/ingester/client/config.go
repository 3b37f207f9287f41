// Package client is the gRPC side of the ingesters: a pool of connections to
// ingesters keyed by address, whose clients implement the distributor's
// Pusher and the querier's Source and TailSource for one ingester, and the
// wire helpers (tenant metadata, the push codec, error codes) the ingester's
// gRPC server shares with them.
//
// Pushes use Loki's Pusher service (pkg/logproto/push.proto) with Skald's
// hand-written encoder and decoder, so a push crosses the wire without
// building intermediate protobuf objects; queries and live tails use the
// Querier service of pkg/logproto/ingester.proto.
package client

import (
	"errors"
	"flag"
	"time"
)

// Config of the ingester clients, with Loki's names and defaults
// (ingester_client block).
type Config struct {
	// RemoteTimeout bounds one push, label or series call. Streaming
	// queries are bounded by the query's own context instead.
	RemoteTimeout time.Duration    `yaml:"remote_timeout"`
	GRPC          GRPCClientConfig `yaml:"grpc_client_config"`
}

// GRPCClientConfig configures the connections.
type GRPCClientConfig struct {
	MaxRecvMsgSize int `yaml:"max_recv_msg_size"`
	MaxSendMsgSize int `yaml:"max_send_msg_size"`
	// ConnectTimeout bounds the wait for a connection to be established
	// before a call fails.
	ConnectTimeout time.Duration `yaml:"connect_timeout"`
	// KeepaliveTime is how long a connection may be idle before the client
	// pings the server; KeepaliveTimeout how long it waits for the answer
	// before it closes the connection.
	KeepaliveTime    time.Duration `yaml:"keepalive_time"`
	KeepaliveTimeout time.Duration `yaml:"keepalive_timeout"`
	// BackoffBaseDelay and BackoffMaxDelay bound the waits between attempts
	// to reconnect to an ingester; calls fail fast meanwhile, so the max
	// is how long a restarted ingester may be missed.
	BackoffBaseDelay time.Duration `yaml:"connect_backoff_base_delay"`
	BackoffMaxDelay  time.Duration `yaml:"connect_backoff_max_delay"`
}

// RegisterFlags registers the client flags with Loki's names and defaults.
func (c *Config) RegisterFlags(f *flag.FlagSet) {
	f.DurationVar(&c.RemoteTimeout, "ingester.client.timeout", 5*time.Second, "Timeout for ingester client RPCs (push, labels, series).")
	f.IntVar(&c.GRPC.MaxRecvMsgSize, "ingester.client.grpc-max-recv-msg-size", 100<<20, "gRPC client max receive message size (bytes).")
	f.IntVar(&c.GRPC.MaxSendMsgSize, "ingester.client.grpc-max-send-msg-size", 100<<20, "gRPC client max send message size (bytes).")
	f.DurationVar(&c.GRPC.ConnectTimeout, "ingester.client.connect-timeout", 5*time.Second, "Maximum time to wait for a connection to an ingester to be established.")
	f.DurationVar(&c.GRPC.KeepaliveTime, "ingester.client.keepalive-time", 20*time.Second, "Idle time after which the client pings an ingester connection.")
	f.DurationVar(&c.GRPC.KeepaliveTimeout, "ingester.client.keepalive-timeout", 10*time.Second, "Time the client waits for a ping answer before it closes the connection.")
	f.DurationVar(&c.GRPC.BackoffBaseDelay, "ingester.client.connect-backoff-base-delay", time.Second, "Initial wait before reconnecting to an ingester.")
	f.DurationVar(&c.GRPC.BackoffMaxDelay, "ingester.client.connect-backoff-max-delay", 5*time.Second, "Longest wait between attempts to reconnect to an ingester.")
}

// DefaultConfig returns the defaults RegisterFlags sets.
func DefaultConfig() Config {
	var c Config
	c.RegisterFlags(flag.NewFlagSet("", flag.ContinueOnError))
	return c
}

// Validate reports settings that cannot work.
func (c *Config) Validate() error {
	switch {
	case c.RemoteTimeout <= 0:
		return errors.New("ingester.client.timeout must be positive")
	case c.GRPC.MaxRecvMsgSize <= 0 || c.GRPC.MaxSendMsgSize <= 0:
		return errors.New("ingester.client gRPC message sizes must be positive")
	case c.GRPC.ConnectTimeout <= 0:
		return errors.New("ingester.client.connect-timeout must be positive")
	case c.GRPC.KeepaliveTime < 10*time.Second:
		// gRPC raises shorter intervals to 10s anyway; say so instead.
		return errors.New("ingester.client.keepalive-time must be at least 10s")
	case c.GRPC.KeepaliveTimeout <= 0:
		return errors.New("ingester.client.keepalive-timeout must be positive")
	case c.GRPC.BackoffBaseDelay <= 0 || c.GRPC.BackoffMaxDelay < c.GRPC.BackoffBaseDelay:
		return errors.New("ingester.client connect backoff: the base delay must be positive and at most the max delay")
	}
	return nil
}
