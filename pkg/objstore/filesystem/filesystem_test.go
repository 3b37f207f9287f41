package filesystem

import (
	"testing"

	"go.uber.org/goleak"

	"github.com/skald-logs/skald/pkg/objstore"
	"github.com/skald-logs/skald/pkg/objstore/objstoretest"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

func newBucket(t testing.TB) *Bucket {
	t.Helper()
	b, err := New(Config{Dir: t.TempDir()}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestBucket(t *testing.T) {
	objstoretest.TestBucket(t, func(t *testing.T) objstore.Bucket { return newBucket(t) })
}
