package ingester

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/skald-logs/skald/pkg/wal"
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
	FlushOpBackoff    BackoffConfig `yaml:"flush_op_backoff"`
	ConcurrentFlushes int           `yaml:"concurrent_flushes"`
	// MaxUnflushedBytes bounds the chunk data held in memory that is not
	// yet in the store; pushes beyond it are refused until flushes catch up.
	// 0 sizes it from the memory available to the process.
	MaxUnflushedBytes ByteSize `yaml:"max_unflushed_bytes"`
	// MemoryBudget bounds the chunk data held in memory (see memory.go):
	// above it the ingester cuts and flushes its largest chunks at once,
	// and drops flushed chunks without waiting for ChunkRetainPeriod. 0
	// uses half of MaxUnflushedBytes; the single binary sets a small
	// default of its own (see the app).
	MemoryBudget ByteSize `yaml:"memory_budget"`
	// ID names this ingester in the objects it writes; default: host name.
	ID string `yaml:"id"`

	WAL WALConfig `yaml:"wal"`
}

// BackoffConfig bounds the retries of a failed flush.
type BackoffConfig struct {
	MinBackoff time.Duration `yaml:"min_period"`
	MaxBackoff time.Duration `yaml:"max_period"`
	MaxRetries int           `yaml:"max_retries"`
}

// WALConfig configures the write-ahead log, as Loki's ingester.wal block.
type WALConfig struct {
	Enabled bool `yaml:"enabled"`
	// Dir of the WAL. The app sets <common.path-prefix>/wal when it is
	// empty; an ingester built with an empty Dir runs without a WAL.
	Dir                string        `yaml:"dir"`
	CheckpointDuration time.Duration `yaml:"checkpoint_duration"`
	FlushOnShutdown    bool          `yaml:"flush_on_shutdown"`
	// ReplayMemoryCeiling: while replaying, flush to the store when the
	// chunks held reach this size. 0 means MaxUnflushedBytes.
	ReplayMemoryCeiling ByteSize `yaml:"replay_memory_ceiling"`
	// Sync is the fsync policy: always, batch or none (see package wal).
	Sync       string        `yaml:"sync"`
	SyncPeriod time.Duration `yaml:"sync_period"`
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
	f.DurationVar(&c.FlushOpTimeout, "ingester.flush-op-timeout", 10*time.Minute, "Timeout of one attempt to write a batch of chunks.")
	f.DurationVar(&c.FlushOpBackoff.MinBackoff, "ingester.flush-op-backoff-min-period", 10*time.Second, "Wait before the first retry of a failed flush; doubled at each retry, with jitter.")
	f.DurationVar(&c.FlushOpBackoff.MaxBackoff, "ingester.flush-op-backoff-max-period", time.Minute, "Longest wait between retries of a failed flush.")
	f.IntVar(&c.FlushOpBackoff.MaxRetries, "ingester.flush-op-backoff-retries", 10, "Retries of a failed flush before it is left to the next flush check.")
	f.IntVar(&c.ConcurrentFlushes, "ingester.concurrent-flushes", 32, "How many chunks are written to the store at once.")
	f.Var(&c.MaxUnflushedBytes, "ingester.max-unflushed-bytes", "Chunk data held in memory and not yet in the store above which pushes are refused with 429 until flushes catch up, e.g. 512MB. 0 (the default) uses an eighth of the memory available to the process (cgroup limit or physical memory): the heap the chunks take is 2-3 times what this counts.")
	f.Var(&c.MemoryBudget, "ingester.memory-budget", "Chunk data held in memory (uncompressed head blocks, compressed blocks, flushed chunks kept for queries) above which the ingester cuts and flushes its largest chunks at once, down to half of it, instead of waiting for them to fill, e.g. 64MB. 0 (the default) uses 16MB in the single binary (-target=all) and half of -ingester.max-unflushed-bytes otherwise.")
	host, _ := os.Hostname()
	f.StringVar(&c.ID, "ingester.lifecycler.id", host, "Name of this ingester.")

	f.BoolVar(&c.WAL.Enabled, "ingester.wal-enabled", true, "Write every accepted push to the write-ahead log before acknowledging it, and replay it on start.")
	f.StringVar(&c.WAL.Dir, "ingester.wal-dir", "", "Directory of the write-ahead log (default <common.path-prefix>/wal).")
	f.DurationVar(&c.WAL.CheckpointDuration, "ingester.checkpoint-duration", 5*time.Minute, "Interval at which the in-memory state is checkpointed and older WAL segments are deleted.")
	f.BoolVar(&c.WAL.FlushOnShutdown, "ingester.flush-on-shutdown", true, "Flush every chunk to the store on shutdown. Without it, a stop leaves the data in the WAL checkpoint and the next start replays it.")
	f.Var(&c.WAL.ReplayMemoryCeiling, "ingester.wal-replay-memory-ceiling", "While replaying the WAL, flush to the store whenever the chunks held reach this size, e.g. 4GB. 0 (the default) uses -ingester.max-unflushed-bytes.")
	f.StringVar(&c.WAL.Sync, "ingester.wal-sync", "always", "When the WAL is fsynced: always (before each acknowledgement, shared by concurrent pushes: survives power loss), batch (every -ingester.wal-sync-period: survives a process crash, a power loss may lose the last period) or none (by the kernel: survives a process crash).")
	f.DurationVar(&c.WAL.SyncPeriod, "ingester.wal-sync-period", time.Second, "With -ingester.wal-sync=batch, how often the WAL is fsynced.")
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
	if c.FlushOpTimeout <= 0 {
		return errors.New("ingester.flush-op-timeout must be positive")
	}
	if b := c.FlushOpBackoff; b.MinBackoff <= 0 || b.MaxBackoff < b.MinBackoff || b.MaxRetries < 0 {
		return errors.New("ingester.flush-op-backoff: min period must be positive, max period at least min, retries not negative")
	}
	if c.ID == "" {
		return errors.New("ingester.lifecycler.id must not be empty")
	}
	if c.MaxUnflushedBytes < 0 || c.WAL.ReplayMemoryCeiling < 0 || c.MemoryBudget < 0 {
		return errors.New("ingester.max-unflushed-bytes, ingester.memory-budget and ingester.wal-replay-memory-ceiling must not be negative")
	}
	if c.WAL.Enabled {
		if c.WAL.CheckpointDuration <= 0 {
			return fmt.Errorf("invalid ingester.checkpoint-duration %v", c.WAL.CheckpointDuration)
		}
		if _, err := wal.ParseSyncPolicy(c.WAL.Sync); err != nil {
			return fmt.Errorf("ingester.wal-sync: %w", err)
		}
		if c.WAL.SyncPeriod <= 0 {
			return errors.New("ingester.wal-sync-period must be positive")
		}
	}
	return nil
}
