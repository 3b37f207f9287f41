package storage

import (
	"errors"
	"flag"
	"time"
)

// Config of the chunk store.
type Config struct {
	// ChunkCacheSizeMB bounds the cache of chunk objects read by queries.
	ChunkCacheSizeMB int `yaml:"chunk_cache_size_mb"`
	// IndexRefreshPeriod is how long a listing of a day's index objects is
	// trusted before the store lists again. Objects written by this process
	// are visible at once; objects written by other processes within this
	// period. Keep it below the ingesters' -ingester.chunks-retain-period.
	IndexRefreshPeriod time.Duration `yaml:"index_refresh_period"`
	// MaxParallelGetChunk bounds the chunk objects one process fetches at once.
	MaxParallelGetChunk int `yaml:"max_parallel_get_chunk"`
	// MaxParallelPutChunk bounds the chunk objects one flush writes at once;
	// the app sets it from -ingester.concurrent-flushes. 0 means
	// MaxParallelGetChunk.
	MaxParallelPutChunk int `yaml:"-"`
	// PrefetchChunks is how many chunks of a stream a query fetches ahead.
	PrefetchChunks int `yaml:"prefetch_chunks"`
}

// RegisterFlags registers the store flags.
func (c *Config) RegisterFlags(f *flag.FlagSet) {
	f.IntVar(&c.ChunkCacheSizeMB, "store.chunk-cache-size-mb", 128, "Size of the in-memory cache of chunk objects, in MB; 0 disables it.")
	f.DurationVar(&c.IndexRefreshPeriod, "store.index-refresh-period", 30*time.Second, "How long a listing of a day's index objects is trusted.")
	f.IntVar(&c.MaxParallelGetChunk, "store.max-parallel-get-chunk", 32, "Maximum number of chunk objects fetched at once.")
	f.IntVar(&c.PrefetchChunks, "store.prefetch-chunks", 4, "Chunks of a stream fetched ahead of the one being read.")
}

// Validate reports settings that cannot work.
func (c *Config) Validate() error {
	if c.MaxParallelGetChunk < 1 || c.PrefetchChunks < 0 || c.ChunkCacheSizeMB < 0 {
		return errors.New("store: max parallel fetches must be positive; cache size and prefetch must not be negative")
	}
	return nil
}
