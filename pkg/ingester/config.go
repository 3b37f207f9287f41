package ingester

import (
	"errors"
	"flag"
	"os"
	"time"
)

// Config of the ingester, with Loki's names and defaults.
type Config struct {
	ChunkTargetSize   int           `yaml:"chunk_target_size"`
	ChunkBlockSize    int           `yaml:"chunk_block_size"`
	ChunkEncoding     string        `yaml:"chunk_encoding"`
	ChunkIdlePeriod   time.Duration `yaml:"chunk_idle_period"`
	MaxChunkAge       time.Duration `yaml:"max_chunk_age"`
	ChunkRetainPeriod time.Duration `yaml:"chunk_retain_period"`
	FlushCheckPeriod  time.Duration `yaml:"flush_check_period"`
	FlushOpTimeout    time.Duration `yaml:"flush_op_timeout"`
	ConcurrentFlushes int           `yaml:"concurrent_flushes"`
	// ID names this ingester in the objects it writes; default: host name.
	ID string `yaml:"id"`
}

// RegisterFlags registers the ingester flags with Loki's defaults.
func (c *Config) RegisterFlags(f *flag.FlagSet) {
	f.IntVar(&c.ChunkTargetSize, "ingester.chunk-target-size", 1572864, "Compressed size at which a chunk is cut.")
	f.IntVar(&c.ChunkBlockSize, "ingester.chunks-block-size", 262144, "Uncompressed size at which a chunk's head block is compressed.")
	f.StringVar(&c.ChunkEncoding, "ingester.chunk-encoding", "snappy", "Chunk compression: snappy.")
	f.DurationVar(&c.ChunkIdlePeriod, "ingester.chunks-idle-period", 30*time.Minute, "Flush a chunk that received no entry for this long.")
	f.DurationVar(&c.MaxChunkAge, "ingester.max-chunk-age", 2*time.Hour, "Flush a chunk this long after its first entry; entries more than half of it behind a stream's newest are refused.")
	f.DurationVar(&c.ChunkRetainPeriod, "ingester.chunks-retain-period", time.Minute, "Keep flushed chunks in memory this long, so queries see them while the store's index listing catches up.")
	f.DurationVar(&c.FlushCheckPeriod, "ingester.flush-check-period", 30*time.Second, "How often to look for chunks to flush.")
	f.DurationVar(&c.FlushOpTimeout, "ingester.flush-op-timeout", 10*time.Minute, "Timeout of one flush.")
	f.IntVar(&c.ConcurrentFlushes, "ingester.concurrent-flushes", 32, "How many chunks are written to the store at once.")
	host, _ := os.Hostname()
	f.StringVar(&c.ID, "ingester.lifecycler.id", host, "Name of this ingester.")
}

// Validate reports settings that cannot work.
func (c *Config) Validate() error {
	if c.MaxChunkAge < 2*time.Minute {
		return errors.New("ingester.max-chunk-age must be at least 2m")
	}
	if c.ChunkBlockSize <= 0 || c.ChunkTargetSize <= 0 {
		return errors.New("chunk block and target sizes must be positive")
	}
	if c.FlushCheckPeriod <= 0 {
		return errors.New("ingester.flush-check-period must be positive")
	}
	if c.ID == "" {
		return errors.New("ingester.lifecycler.id must not be empty")
	}
	return nil
}
