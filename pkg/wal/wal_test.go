package wal

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func openWAL(t *testing.T, dir string, opts Options) (*WAL, *prometheus.Registry) {
	t.Helper()
	opts.Dir = dir
	reg := prometheus.NewRegistry()
	w, err := Open(opts, nil, reg)
	if err != nil {
		t.Fatal(err)
	}
	return w, reg
}

func series(i int) []byte {
	return AppendSeries(nil, "tenant", uint64(i), fmt.Sprintf(`{i="%d"}`, i))
}

// replayRefs replays dir and returns the refs of its Series records in order.
func replayRefs(t *testing.T, dir string) ([]uint64, ReplayStats) {
	t.Helper()
	w, _ := openWAL(t, dir, Options{})
	defer w.Close()
	var refs []uint64
	st, err := w.Replay(context.Background(), func(r *Record) error {
		if r.Type != TypeSeries {
			return fmt.Errorf("unexpected record type %v", r.Type)
		}
		refs = append(refs, r.Ref)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return refs, st
}

func TestLogWaitReplay(t *testing.T) {
	for _, p := range []SyncPolicy{SyncAlways, SyncBatch, SyncNone} {
		t.Run(p.String(), func(t *testing.T) {
			dir := t.TempDir()
			w, reg := openWAL(t, dir, Options{Sync: p, SegmentSize: 4096})
			const writers, each = 8, 50
			var wg sync.WaitGroup
			for g := range writers {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := range each {
						tk, err := w.Log(series(g*1000 + i))
						if err == nil {
							err = w.Wait(tk)
						}
						if err != nil {
							t.Error(err)
							return
						}
					}
				}()
			}
			wg.Wait()
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			if got := testutil.ToFloat64(w.m.records); got != writers*each {
				t.Fatalf("records metric %v, want %d", got, writers*each)
			}
			fsyncs := testutil.ToFloat64(w.m.fsyncs)
			if p == SyncAlways && (fsyncs < 1 || fsyncs > writers*each+100) {
				t.Fatalf("%v fsyncs for %d waits", fsyncs, writers*each)
			}
			if _, err := reg.Gather(); err != nil {
				t.Fatal(err)
			}

			refs, st := replayRefs(t, dir)
			if st.Segments < 2 {
				t.Fatalf("4 KiB segments: only %d segments", st.Segments)
			}
			if len(refs) != writers*each || st.Damaged != 0 {
				t.Fatalf("replayed %d records with %d damaged ranges, want %d and none", len(refs), st.Damaged, writers*each)
			}
			// Each writer's records come back in its order.
			last := map[uint64]uint64{}
			for _, r := range refs {
				g := r / 1000
				if prev, ok := last[g]; ok && r != prev+1 {
					t.Fatalf("writer %d: %d after %d", g, r, prev)
				}
				last[g] = r
			}
		})
	}
}

// Records logged without a Wait are written by Close.
func TestCloseWritesPending(t *testing.T) {
	dir := t.TempDir()
	w, _ := openWAL(t, dir, Options{SyncPeriod: time.Hour})
	for i := range 5 {
		if _, err := w.Log(series(i)); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Log(series(9)); !errors.Is(err, ErrClosed) {
		t.Fatalf("Log after Close = %v, want ErrClosed", err)
	}
	refs, _ := replayRefs(t, dir)
	if !reflect.DeepEqual(refs, []uint64{0, 1, 2, 3, 4}) {
		t.Fatalf("replayed %v", refs)
	}
}

func TestLogRejects(t *testing.T) {
	w, _ := openWAL(t, t.TempDir(), Options{})
	defer w.Close()
	for _, n := range []int{0, MaxRecordSize + 1} {
		if _, err := w.Log(make([]byte, n)); !errors.Is(err, ErrRecordTooLarge) {
			t.Errorf("Log of %d bytes = %v, want ErrRecordTooLarge", n, err)
		}
	}
}

func TestCheckpoint(t *testing.T) {
	dir := t.TempDir()
	w, _ := openWAL(t, dir, Options{SegmentSize: 256})
	logWait := func(from, to int) {
		t.Helper()
		for i := from; i < to; i++ {
			tk, err := w.Log(series(i))
			if err == nil {
				err = w.Wait(tk)
			}
			if err != nil {
				t.Fatal(err)
			}
		}
	}
	logWait(0, 20)
	last, err := w.NextSegment()
	if err != nil {
		t.Fatal(err)
	}
	cp, err := w.NewCheckpoint(last)
	if err != nil {
		t.Fatal(err)
	}
	// The checkpoint holds a different state: records 100..104.
	for i := 100; i < 105; i++ {
		if err := cp.Log(series(i)); err != nil {
			t.Fatal(err)
		}
	}
	logWait(20, 25) // concurrent with the checkpoint: goes to later segments
	if err := cp.Commit(); err != nil {
		t.Fatal(err)
	}
	if w.LastCheckpoint() != last {
		t.Fatalf("LastCheckpoint = %d, want %d", w.LastCheckpoint(), last)
	}
	d, err := listDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(d.checkpoints, []int{last}) || d.segments[0] != last+1 {
		t.Fatalf("after checkpoint %d: checkpoints %v, segments %v", last, d.checkpoints, d.segments)
	}
	logWait(25, 30)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}

	refs, st := replayRefs(t, dir)
	want := []uint64{100, 101, 102, 103, 104, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29}
	if !reflect.DeepEqual(refs, want) {
		t.Fatalf("replayed %v, want %v", refs, want)
	}
	if st.Checkpoint != last {
		t.Fatalf("stats checkpoint %d, want %d", st.Checkpoint, last)
	}

	// A second checkpoint of the same segment keeps the first.
	w, _ = openWAL(t, dir, Options{})
	if _, err := w.Replay(context.Background(), func(*Record) error { return nil }); err != nil {
		t.Fatal(err)
	}
	last2, err := w.NextSegment()
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		cp, err = w.NewCheckpoint(last2)
		if err != nil {
			t.Fatal(err)
		}
		if err := cp.Log(series(7)); err != nil {
			t.Fatal(err)
		}
		if err := cp.Commit(); err != nil {
			t.Fatal(err)
		}
	}
	w.Close()
	refs, _ = replayRefs(t, dir)
	if !reflect.DeepEqual(refs, []uint64{7}) {
		t.Fatalf("after two checkpoints replayed %v, want [7]", refs)
	}
}

func TestCheckpointAbortAndLeftovers(t *testing.T) {
	dir := t.TempDir()
	w, _ := openWAL(t, dir, Options{})
	tk, _ := w.Log(series(1))
	if err := w.Wait(tk); err != nil {
		t.Fatal(err)
	}
	last, _ := w.NextSegment()
	cp, err := w.NewCheckpoint(last)
	if err != nil {
		t.Fatal(err)
	}
	cp.Log(series(50))
	cp.Abort()
	if err := cp.Commit(); err == nil {
		t.Fatal("Commit after Abort succeeded")
	}
	// A checkpoint interrupted by a crash leaves its temporary directory.
	cp, err = w.NewCheckpoint(last)
	if err != nil {
		t.Fatal(err)
	}
	cp.Log(series(60))
	cp.finishFile()
	w.Close()
	if _, err := os.Stat(checkpointPath(dir, last) + ".tmp"); err != nil {
		t.Fatal(err)
	}
	refs, _ := replayRefs(t, dir)
	if !reflect.DeepEqual(refs, []uint64{1}) {
		t.Fatalf("replayed %v, want the segment's record only", refs)
	}
	if _, err := os.Stat(checkpointPath(dir, last) + ".tmp"); !os.IsNotExist(err) {
		t.Fatalf("interrupted checkpoint left in place: %v", err)
	}
}

// A torn tail is reported and skipped; the next process writes a new
// segment, and both are replayed after another restart.
func TestReplayTornTailThenContinue(t *testing.T) {
	dir := t.TempDir()
	w, _ := openWAL(t, dir, Options{})
	for i := range 10 {
		tk, _ := w.Log(series(i))
		if err := w.Wait(tk); err != nil {
			t.Fatal(err)
		}
	}
	w.Close()
	seg := segmentPath(dir, 0)
	fi, err := os.Stat(seg)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(seg, fi.Size()-3); err != nil {
		t.Fatal(err)
	}

	w, _ = openWAL(t, dir, Options{})
	var refs []uint64
	st, err := w.Replay(context.Background(), func(r *Record) error { refs = append(refs, r.Ref); return nil })
	if err != nil {
		t.Fatal(err)
	}
	if len(refs) != 9 || st.Damaged != 1 || st.DamagedBytes == 0 {
		t.Fatalf("replayed %d records, %d damaged ranges (%d bytes); want 9 and 1", len(refs), st.Damaged, st.DamagedBytes)
	}
	if got := testutil.ToFloat64(w.m.corruptions.WithLabelValues("torn_tail")); got != 1 {
		t.Fatalf("torn_tail metric %v, want 1", got)
	}
	tk, _ := w.Log(series(100))
	if err := w.Wait(tk); err != nil {
		t.Fatal(err)
	}
	w.Close()
	if _, err := os.Stat(segmentPath(dir, 1)); err != nil {
		t.Fatalf("the new process did not start a new segment: %v", err)
	}
	got, _ := replayRefs(t, dir)
	want := []uint64{0, 1, 2, 3, 4, 5, 6, 7, 8, 100}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("replayed %v, want %v", got, want)
	}
}

func TestReplayCallbackErrorAndCancel(t *testing.T) {
	dir := t.TempDir()
	w, _ := openWAL(t, dir, Options{})
	for i := range 3 {
		w.Log(series(i))
	}
	w.Close()

	boom := errors.New("boom")
	w, _ = openWAL(t, dir, Options{})
	if _, err := w.Replay(context.Background(), func(*Record) error { return boom }); !errors.Is(err, boom) {
		t.Fatalf("Replay = %v, want the callback's error", err)
	}
	w.Close()

	w, _ = openWAL(t, dir, Options{})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := w.Replay(ctx, func(*Record) error { return nil }); !errors.Is(err, context.Canceled) {
		t.Fatalf("Replay with a cancelled context = %v", err)
	}
	w.Close()

	w, _ = openWAL(t, dir, Options{})
	defer w.Close()
	tk, _ := w.Log(series(5))
	w.Wait(tk)
	if _, err := w.Replay(context.Background(), func(*Record) error { return nil }); err == nil {
		t.Fatal("Replay after Log succeeded")
	}
}

// A write that fails is reported to its waiters, and the WAL goes on in a
// new segment.
func TestWriteFailure(t *testing.T) {
	dir := t.TempDir()
	w, _ := openWAL(t, dir, Options{})
	defer w.Close()
	tk, _ := w.Log(series(1))
	if err := w.Wait(tk); err != nil {
		t.Fatal(err)
	}
	w.writeMu.Lock()
	w.seg.Close() // the next write fails
	w.writeMu.Unlock()
	tk, _ = w.Log(series(2))
	if err := w.Wait(tk); err == nil {
		t.Fatal("Wait after a failed write returned nil")
	}
	tk, _ = w.Log(series(3))
	if err := w.Wait(tk); err != nil {
		t.Fatalf("the WAL did not recover in a new segment: %v", err)
	}
	d, _ := listDir(dir)
	if !slices.Equal(d.segments, []int{0, 1}) {
		t.Fatalf("segments %v, want [0 1]", d.segments)
	}
	if got := testutil.ToFloat64(w.m.writeFailures); got != 1 {
		t.Fatalf("write failures metric %v, want 1", got)
	}
}

func TestListDirIgnoresStrangers(t *testing.T) {
	dir := t.TempDir()
	for _, name := range []string{"00000003", "00000001", "notes.txt", "0001", "checkpoint.x"} {
		os.WriteFile(filepath.Join(dir, name), nil, 0o644)
	}
	os.Mkdir(filepath.Join(dir, "checkpoint.00000002"), 0o755)
	os.Mkdir(filepath.Join(dir, "checkpoint.00000005.tmp"), 0o755)
	d, err := listDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(d.segments, []int{1, 3}) || !slices.Equal(d.checkpoints, []int{2}) || !slices.Equal(d.tmp, []string{"checkpoint.00000005.tmp"}) {
		t.Fatalf("listDir = %+v", d)
	}
}

func TestOpenLocksDir(t *testing.T) {
	dir := t.TempDir()
	w, _ := openWAL(t, dir, Options{})
	if _, err := Open(Options{Dir: dir}, nil, nil); !errors.Is(err, ErrLocked) {
		t.Fatalf("second Open = %v, want ErrLocked", err)
	}
	w.Close()
	w2, err := Open(Options{Dir: dir}, nil, nil)
	if err != nil {
		t.Fatalf("Open after Close: %v", err)
	}
	w2.Close()
}
