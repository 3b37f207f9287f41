package memory

import (
	"testing"

	"go.uber.org/goleak"

	"github.com/skald-logs/skald/pkg/objstore"
	"github.com/skald-logs/skald/pkg/objstore/objstoretest"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

func TestBucket(t *testing.T) {
	objstoretest.TestBucket(t, func(t *testing.T) objstore.Bucket { return New() })
}
