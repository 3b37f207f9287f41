package ring

import (
	"errors"
	"flag"
	"fmt"
	"time"
)

// Config is the ring as its readers (distributors, queriers) and the
// lifecycler see it, with Loki's names and defaults (Loki's
// ingester.lifecycler.ring block).
type Config struct {
	KVStore KVConfig `yaml:"kvstore"`
	// HeartbeatTimeout: an instance whose last heartbeat is older is
	// UNHEALTHY and skipped by reads and writes. 0 disables the check.
	HeartbeatTimeout time.Duration `yaml:"heartbeat_timeout"`
	// ReplicationFactor is how many ingesters hold each stream.
	ReplicationFactor int `yaml:"replication_factor"`
	// ZoneAwarenessEnabled places the replicas of a stream in distinct zones.
	ZoneAwarenessEnabled bool `yaml:"zone_awareness_enabled"`
}

// KVConfig selects where the ring lives.
type KVConfig struct {
	// Store is "memberlist" (gossip, pkg/ring/memberlist), "inmemory" (this
	// process only) or empty: the caller chooses (memberlist when join
	// addresses are configured, inmemory otherwise, as Loki's common config).
	Store string `yaml:"store"`
}

// RegisterFlags registers the ring flags with Loki's names and defaults.
func (c *Config) RegisterFlags(f *flag.FlagSet) {
	f.StringVar(&c.KVStore.Store, "ring.store", "", "Backend storage of the ring: memberlist or inmemory. Empty: memberlist when -memberlist.join is set, inmemory otherwise.")
	f.DurationVar(&c.HeartbeatTimeout, "ring.heartbeat-timeout", time.Minute, "The heartbeat timeout after which ingesters are skipped for reads/writes. 0 = never (timeout disabled).")
	f.IntVar(&c.ReplicationFactor, "distributor.replication-factor", 3, "The number of ingesters to write to and read from.")
	f.BoolVar(&c.ZoneAwarenessEnabled, "distributor.zone-awareness-enabled", false, "True to enable the zone-awareness and replicate ingested samples across different availability zones.")
}

// Validate reports settings that cannot work.
func (c *Config) Validate() error {
	switch c.KVStore.Store {
	case "", "inmemory", "memberlist":
	default:
		return fmt.Errorf("ring.store: unsupported store %q (memberlist or inmemory)", c.KVStore.Store)
	}
	if c.ReplicationFactor < 1 {
		return errors.New("distributor.replication-factor must be at least 1")
	}
	if c.HeartbeatTimeout < 0 {
		return errors.New("ring.heartbeat-timeout must not be negative")
	}
	return nil
}
