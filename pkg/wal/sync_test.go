package wal

import (
	"testing"
	"time"
)

// With SyncAlways, Wait returns only once the record is fsynced, also when
// the background writer wrote the record's batch before the caller waited:
// the record was written to the operating system but not fsynced, and Wait
// acknowledged it as durable.
func TestSyncAlwaysWaitAfterBackgroundWrite(t *testing.T) {
	w, _ := openWAL(t, t.TempDir(), Options{Sync: SyncAlways, SyncPeriod: time.Millisecond})
	defer w.Close()
	for i := range 3 {
		tk, err := w.Log(series(i))
		if err != nil {
			t.Fatal(err)
		}
		<-tk.b.done // the background writer wrote the batch
		if err := w.Wait(tk); err != nil {
			t.Fatal(err)
		}
		w.writeMu.Lock()
		dirty := w.dirty
		w.writeMu.Unlock()
		if dirty {
			t.Fatalf("record %d: Wait returned with the segment written but not fsynced", i)
		}
	}
}
