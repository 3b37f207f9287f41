package compactor

import (
	"context"
	"testing"
	"testing/synctest"
	"time"

	"github.com/skald-logs/skald/pkg/objstore"
	"github.com/skald-logs/skald/pkg/objstore/memory"
)

// blockingList is a bucket whose List waits for its context to end, like a
// store that does not answer, and reports the context's error.
type blockingList struct {
	objstore.Bucket
	entered chan struct{}
	ended   chan error
}

func (b *blockingList) List(ctx context.Context, _ string, _ func(string) error) error {
	close(b.entered)
	<-ctx.Done()
	b.ended <- ctx.Err()
	return ctx.Err()
}

// Stop cancels a compaction in progress: it waited for the run to end on
// its own, up to a whole compaction interval (10 minutes by default),
// holding up the process's shutdown.
func TestStopCancelsRunningCompaction(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := &blockingList{Bucket: memory.New(), entered: make(chan struct{}), ended: make(chan error, 1)}
		c, err := New(Config{Interval: 10 * time.Minute, MinObjects: 2, DeleteDelay: time.Minute}, b, slogDiscard(), nil)
		if err != nil {
			t.Fatal(err)
		}
		c.Start()
		<-b.entered // the first run is listing
		c.Stop()
		if err := <-b.ended; err != context.Canceled {
			t.Fatalf("the running compaction's context ended with %v, want it cancelled by Stop", err)
		}
	})
}
