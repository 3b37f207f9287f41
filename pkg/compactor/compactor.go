// Package compactor merges the index objects of each tenant's day into one,
// so that queries read one small object per day instead of one per flush.
//
// Every flush writes its own immutable index object; the compactor lists a
// day's objects, merges them into a new object, and deletes the inputs only
// after a delay longer than the queriers' index refresh period, so that a
// querier always finds the data either in the inputs or in the merged object.
// Merging is idempotent, so a restart (which forgets the pending deletions)
// or a second compactor never loses anything: the leftovers are merged again.
package compactor

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/skald-logs/skald/pkg/index"
	"github.com/skald-logs/skald/pkg/objstore"
)

// Config of the compactor.
type Config struct {
	// Interval between compaction runs.
	Interval time.Duration `yaml:"compaction_interval"`
	// MinObjects: a day is merged once it holds at least this many objects.
	MinObjects int `yaml:"min_objects"`
	// DeleteDelay: merged inputs are deleted this long after the merged
	// object is written. Keep it above the queriers'
	// -store.index-refresh-period.
	DeleteDelay time.Duration `yaml:"delete_delay"`
}

// RegisterFlags registers the compactor flags.
func (c *Config) RegisterFlags(f *flag.FlagSet) {
	f.DurationVar(&c.Interval, "compactor.compaction-interval", 10*time.Minute, "How often to merge each day's index objects.")
	f.IntVar(&c.MinObjects, "compactor.min-objects", 4, "Merge a day's index objects once there are at least this many.")
	f.DurationVar(&c.DeleteDelay, "compactor.delete-delay", 2*time.Minute, "Delete merged index objects this long after the merged object is written; keep it above -store.index-refresh-period.")
}

// Validate reports settings that cannot work.
func (c *Config) Validate() error {
	if c.Interval <= 0 || c.MinObjects < 2 || c.DeleteDelay < 0 {
		return errors.New("compactor: interval must be positive, min objects at least 2, delete delay not negative")
	}
	return nil
}

// Compactor merges index objects in a bucket.
type Compactor struct {
	cfg    Config
	bucket objstore.Bucket
	logger *slog.Logger
	now    func() time.Time

	mtx     sync.Mutex
	pending map[string]time.Time // key → when it may be deleted
	seq     uint64

	quit   chan struct{}
	cancel context.CancelFunc // ends the run in progress; set by Start
	done   sync.WaitGroup

	merged  prometheus.Counter
	deleted prometheus.Counter
	runs    *prometheus.CounterVec
}

// New returns a compactor over bucket.
func New(cfg Config, bucket objstore.Bucket, logger *slog.Logger, reg prometheus.Registerer) (*Compactor, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	c := &Compactor{
		cfg: cfg, bucket: bucket, logger: logger, now: time.Now,
		pending: map[string]time.Time{},
		quit:    make(chan struct{}),
		merged: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "skald_compactor_index_objects_merged_total", Help: "Index objects merged into a day's compacted object."}),
		deleted: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "skald_compactor_index_objects_deleted_total", Help: "Merged index objects deleted."}),
		runs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "skald_compactor_runs_total", Help: "Compaction runs, by outcome."}, []string{"outcome"}),
	}
	if reg != nil {
		reg.MustRegister(c.merged, c.deleted, c.runs)
	}
	return c, nil
}

// Start runs compaction every Interval until Stop.
func (c *Compactor) Start() {
	stopCtx, cancel := context.WithCancel(context.Background())
	c.cancel = cancel
	c.done.Add(1)
	go func() {
		defer c.done.Done()
		t := time.NewTicker(c.cfg.Interval)
		defer t.Stop()
		for {
			select {
			case <-c.quit:
				return
			case <-t.C:
				ctx, cancel := context.WithTimeout(stopCtx, c.cfg.Interval)
				if err := c.RunOnce(ctx); err != nil {
					c.logger.Warn("compaction failed; will retry", "err", err)
				}
				cancel()
			}
		}
	}()
}

// Stop ends the loop, cancelling the run in progress. Pending deletions are
// dropped: the next run merges the leftovers again.
func (c *Compactor) Stop() {
	close(c.quit)
	if c.cancel != nil {
		c.cancel()
	}
	c.done.Wait()
}

// dayKey names one tenant's day: the prefix "index/<tenant>/<day>/".
type dayKey string

// RunOnce deletes the inputs whose delay has passed, then merges every day
// that holds at least MinObjects objects not already merged.
func (c *Compactor) RunOnce(ctx context.Context) error {
	err := c.runOnce(ctx)
	outcome := "success"
	if err != nil {
		outcome = "failure"
	}
	c.runs.WithLabelValues(outcome).Inc()
	return err
}

func (c *Compactor) runOnce(ctx context.Context) error {
	if err := c.deleteDue(ctx); err != nil {
		return err
	}
	days := map[dayKey][]string{}
	err := c.bucket.List(ctx, "index", func(key string) error {
		if !strings.HasSuffix(key, ".idx") {
			return nil
		}
		i := strings.LastIndexByte(key, '/')
		if i < 0 {
			return nil
		}
		c.mtx.Lock()
		_, merged := c.pending[key]
		c.mtx.Unlock()
		if !merged {
			d := dayKey(key[:i+1])
			days[d] = append(days[d], key)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("list index objects: %w", err)
	}
	var errs []error
	for day, keys := range days {
		if len(keys) < c.cfg.MinObjects {
			continue
		}
		if err := c.mergeDay(ctx, day, keys); err != nil {
			errs = append(errs, fmt.Errorf("merge %s: %w", day, err))
		}
	}
	return errors.Join(errs...)
}

func (c *Compactor) mergeDay(ctx context.Context, day dayKey, keys []string) error {
	readers := make([]*index.Reader, 0, len(keys))
	var got []string
	for _, k := range keys {
		data, err := objstore.GetAll(ctx, c.bucket, k)
		if errors.Is(err, objstore.ErrNotFound) {
			continue // another compactor merged it
		}
		if err != nil {
			return err
		}
		r, err := index.Decode(data)
		if err != nil {
			// Leave a damaged object alone for an operator to look at.
			c.logger.Error("index object cannot be decoded; not merged", "key", k, "err", err)
			continue
		}
		readers = append(readers, r)
		got = append(got, k)
	}
	if len(readers) < 2 {
		return nil
	}
	w, err := index.Merge(readers...)
	if err != nil {
		return err
	}
	data, err := w.Encode()
	if err != nil {
		return err
	}
	c.mtx.Lock()
	c.seq++
	seq := c.seq
	c.mtx.Unlock()
	out := fmt.Sprintf("%scompacted-%016x-%d.idx", day, c.now().UnixNano(), seq)
	if err := c.bucket.Put(ctx, out, bytes.NewReader(data), int64(len(data))); err != nil {
		return fmt.Errorf("write %s: %w", out, err)
	}
	deleteAt := c.now().Add(c.cfg.DeleteDelay)
	c.mtx.Lock()
	for _, k := range got {
		c.pending[k] = deleteAt
	}
	c.mtx.Unlock()
	c.merged.Add(float64(len(got)))
	c.logger.Info("merged index objects", "day", string(day), "objects", len(got), "into", out, "bytes", len(data))
	return nil
}

// deleteDue deletes the merged inputs whose delay has passed.
func (c *Compactor) deleteDue(ctx context.Context) error {
	now := c.now()
	c.mtx.Lock()
	var due []string
	for k, at := range c.pending {
		if !now.Before(at) {
			due = append(due, k)
		}
	}
	c.mtx.Unlock()
	for _, k := range due {
		if err := c.bucket.Delete(ctx, k); err != nil {
			return fmt.Errorf("delete %s: %w", k, err)
		}
		c.mtx.Lock()
		delete(c.pending, k)
		c.mtx.Unlock()
		c.deleted.Inc()
	}
	return nil
}
