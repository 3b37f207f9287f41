// Package objstoretest is the contract suite of objstore.Bucket: every
// implementation runs TestBucket from its own tests, so that the filesystem,
// S3 and memory stores behave the same for their users.
package objstoretest

import (
	"bytes"
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"github.com/skald-logs/skald/pkg/objstore"
)

// TestBucket runs the contract suite as subtests of t. newBucket must return
// a new, empty bucket each time it is called; the suite closes it when the
// subtest ends and checks that Close succeeds.
func TestBucket(t *testing.T, newBucket func(t *testing.T) objstore.Bucket) {
	tests := []struct {
		name string
		fn   func(t *testing.T, b objstore.Bucket)
	}{
		{"PutGet", testPutGet},
		{"Overwrite", testOverwrite},
		{"PutReaders", testPutReaders},
		{"PutSizeMismatch", testPutSizeMismatch},
		{"PutReaderError", testPutReaderError},
		{"GetRange", testGetRange},
		{"GetRangeEmptyObject", testGetRangeEmptyObject},
		{"List", testList},
		{"ListEmpty", testListEmpty},
		{"ListStop", testListStop},
		{"Delete", testDelete},
		{"NotFound", testNotFound},
		{"InvalidKeys", testInvalidKeys},
		{"Large", testLarge},
		{"Concurrent", testConcurrent},
		{"ContextCanceled", testContextCanceled},
		{"CancelDuringPut", testCancelDuringPut},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := newBucket(t)
			t.Cleanup(func() {
				if err := b.Close(); err != nil {
					t.Errorf("Close: %v", err)
				}
			})
			tc.fn(t, b)
		})
	}
}

// randomBytes returns n deterministic pseudo-random bytes.
func randomBytes(seed uint64, n int) []byte {
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	buf := make([]byte, n)
	for i := range buf {
		buf[i] = byte(r.Uint32())
	}
	return buf
}

func mustPut(t testing.TB, b objstore.Bucket, key string, data []byte) {
	t.Helper()
	if err := b.Put(context.Background(), key, bytes.NewReader(data), int64(len(data))); err != nil {
		t.Fatalf("Put(%q): %v", key, err)
	}
}

func mustGet(t testing.TB, b objstore.Bucket, key string) []byte {
	t.Helper()
	data, err := objstore.GetAll(context.Background(), b, key)
	if err != nil {
		t.Fatalf("GetAll(%q): %v", key, err)
	}
	return data
}

// readAll reads and closes rc.
func readAll(rc io.ReadCloser) ([]byte, error) {
	data, err := io.ReadAll(rc)
	if cerr := rc.Close(); err == nil {
		err = cerr
	}
	return data, err
}

func listAll(t testing.TB, b objstore.Bucket, prefix string) []string {
	t.Helper()
	keys := []string{}
	err := b.List(context.Background(), prefix, func(key string) error {
		keys = append(keys, key)
		return nil
	})
	if err != nil {
		t.Fatalf("List(%q): %v", prefix, err)
	}
	return keys
}

func wantNotFound(t testing.TB, b objstore.Bucket, key string) {
	t.Helper()
	ctx := context.Background()
	if _, err := b.Get(ctx, key); !errors.Is(err, objstore.ErrNotFound) {
		t.Errorf("Get(%q) error = %v, want ErrNotFound", key, err)
	}
	if _, err := b.GetRange(ctx, key, 0, 1); !errors.Is(err, objstore.ErrNotFound) {
		t.Errorf("GetRange(%q) error = %v, want ErrNotFound", key, err)
	}
	if _, err := b.Attributes(ctx, key); !errors.Is(err, objstore.ErrNotFound) {
		t.Errorf("Attributes(%q) error = %v, want ErrNotFound", key, err)
	}
}

func testPutGet(t *testing.T, b objstore.Bucket) {
	ctx := context.Background()
	long := strings.Repeat("k", 250) + "/" + strings.Repeat("e", 250) + "/" + strings.Repeat("y", 250) + "/" + strings.Repeat("s", 250)
	tests := []struct {
		key  string
		data []byte
	}{
		{"chunks/fake/00ab12cd/18c1a2b3c4d:18c1a2b3c5e:9f8e7d6c", randomBytes(1, 4096)},
		{"index/fake/20412/ingester-1-1700000000.idx", []byte("small index")},
		{"empty", []byte{}},
		{"all-bytes", func() []byte {
			b := make([]byte, 256)
			for i := range b {
				b[i] = byte(i)
			}
			return b
		}()},
		{"dir with space/file name.txt", []byte("space")},
		{"plus+and&eq=/q?hash#pct%20.txt", []byte("reserved characters")},
		{"unicode/日本語/ключ", []byte("utf-8")},
		{"marks/tilde~star*(paren)'quote'!$,;@", []byte("marks")},
		{".hidden/.file", []byte("dot files")},
		{"a-b_c.d/e", []byte("punctuation")},
		{long, []byte("a 1003-byte key")},
	}
	for _, tc := range tests {
		before := time.Now()
		mustPut(t, b, tc.key, tc.data)
		after := time.Now()

		if got := mustGet(t, b, tc.key); !bytes.Equal(got, tc.data) {
			t.Errorf("GetAll(%q) = %d bytes %.20q, want %d bytes %.20q", tc.key, len(got), got, len(tc.data), tc.data)
		}
		rc, err := b.Get(ctx, tc.key)
		if err != nil {
			t.Fatalf("Get(%q): %v", tc.key, err)
		}
		if got, err := readAll(rc); err != nil || !bytes.Equal(got, tc.data) {
			t.Errorf("Get(%q) = %d bytes, %v; want %d bytes", tc.key, len(got), err, len(tc.data))
		}
		attrs, err := b.Attributes(ctx, tc.key)
		if err != nil {
			t.Fatalf("Attributes(%q): %v", tc.key, err)
		}
		if attrs.Size != int64(len(tc.data)) {
			t.Errorf("Attributes(%q).Size = %d, want %d", tc.key, attrs.Size, len(tc.data))
		}
		// LastModified may be truncated to a second and comes from the
		// server's clock; allow for both.
		lo, hi := before.Truncate(time.Second).Add(-2*time.Second), after.Add(2*time.Second)
		if attrs.LastModified.Before(lo) || attrs.LastModified.After(hi) {
			t.Errorf("Attributes(%q).LastModified = %v, want within [%v, %v]", tc.key, attrs.LastModified, lo, hi)
		}
	}
	var want []string
	for _, tc := range tests {
		want = append(want, tc.key)
	}
	slices.Sort(want)
	if got := listAll(t, b, ""); !slices.Equal(got, want) {
		t.Errorf("List(\"\") = %q, want %q", got, want)
	}
}

func testOverwrite(t *testing.T, b objstore.Bucket) {
	ctx := context.Background()
	key := "index/fake/20412/table"
	versions := [][]byte{randomBytes(2, 1000), randomBytes(3, 10), {}, randomBytes(4, 70000)}
	for i, data := range versions {
		mustPut(t, b, key, data)
		if got := mustGet(t, b, key); !bytes.Equal(got, data) {
			t.Fatalf("version %d: got %d bytes, want %d", i, len(got), len(data))
		}
		attrs, err := b.Attributes(ctx, key)
		if err != nil {
			t.Fatal(err)
		}
		if attrs.Size != int64(len(data)) {
			t.Errorf("version %d: Size = %d, want %d", i, attrs.Size, len(data))
		}
	}
	if got := listAll(t, b, ""); !slices.Equal(got, []string{key}) {
		t.Errorf("List = %q, want just %q", got, key)
	}
}

// onlyReader hides every method of a reader but Read.
type onlyReader struct{ r io.Reader }

func (o onlyReader) Read(p []byte) (int, error) { return o.r.Read(p) }

func testPutReaders(t *testing.T, b objstore.Bucket) {
	data := randomBytes(5, 300_000)
	tests := []struct {
		name string
		r    func() io.Reader
		size int64
		want []byte
	}{
		{"bytes.Reader", func() io.Reader { return bytes.NewReader(data) }, int64(len(data)), data},
		{"strings.Reader", func() io.Reader { return strings.NewReader(string(data)) }, int64(len(data)), data},
		{"bytes.Buffer", func() io.Reader { return bytes.NewBuffer(slices.Clone(data)) }, int64(len(data)), data},
		{"read-only", func() io.Reader { return onlyReader{bytes.NewReader(data)} }, int64(len(data)), data},
		{"one byte at a time", func() io.Reader { return iotest.OneByteReader(bytes.NewReader(data[:5000])) }, 5000, data[:5000]},
		{"half reads", func() io.Reader { return iotest.HalfReader(bytes.NewReader(data)) }, int64(len(data)), data},
		{"unknown size", func() io.Reader { return onlyReader{bytes.NewReader(data)} }, -1, data},
		{"unknown size seekable", func() io.Reader { return bytes.NewReader(data) }, -1, data},
		{"unknown size empty", func() io.Reader { return onlyReader{bytes.NewReader(nil)} }, -1, []byte{}},
		{"seekable, partly read", func() io.Reader {
			r := bytes.NewReader(data)
			if _, err := r.Seek(1000, io.SeekStart); err != nil {
				panic(err)
			}
			return r
		}, int64(len(data) - 1000), data[1000:]},
		{"multi reader", func() io.Reader {
			return io.MultiReader(bytes.NewReader(data[:100]), strings.NewReader(string(data[100:])))
		}, int64(len(data)), data},
	}
	for i, tc := range tests {
		key := "readers/" + strings.ReplaceAll(tc.name, " ", "-")
		if err := b.Put(context.Background(), key, tc.r(), tc.size); err != nil {
			t.Errorf("%s: Put: %v", tc.name, err)
			continue
		}
		if got := mustGet(t, b, key); !bytes.Equal(got, tc.want) {
			t.Errorf("%s (%d): got %d bytes, want %d", tc.name, i, len(got), len(tc.want))
		}
	}
}

func testPutSizeMismatch(t *testing.T, b objstore.Bucket) {
	data := randomBytes(6, 5000)
	tests := []struct {
		name string
		r    io.Reader
		size int64
	}{
		{"seekable, short", bytes.NewReader(data), 6000},
		{"seekable, long", bytes.NewReader(data), 4000},
		{"read-only, short", onlyReader{bytes.NewReader(data)}, 6000},
		{"read-only, long", onlyReader{bytes.NewReader(data)}, 4000},
		{"empty, size 1", bytes.NewReader(nil), 1},
		{"one byte, size 0", onlyReader{bytes.NewReader([]byte{1})}, 0},
	}
	for _, tc := range tests {
		key := "mismatch/" + strings.NewReplacer(" ", "-", ",", "").Replace(tc.name)
		if err := b.Put(context.Background(), key, tc.r, tc.size); err == nil {
			t.Errorf("%s: Put with size %d succeeded, want an error", tc.name, tc.size)
		}
		wantNotFound(t, b, key)
	}
	if got := listAll(t, b, ""); len(got) != 0 {
		t.Errorf("List after failed puts = %q, want none", got)
	}
}

var errBoom = errors.New("boom")

func testPutReaderError(t *testing.T, b objstore.Bucket) {
	key := "chunks/fake/failing"
	old := []byte("old content")
	mustPut(t, b, key, old)
	data := randomBytes(7, 100_000)
	r := io.MultiReader(bytes.NewReader(data), iotest.ErrReader(errBoom))
	err := b.Put(context.Background(), key, r, 200_000)
	if !errors.Is(err, errBoom) {
		t.Errorf("Put with a failing reader: error = %v, want one wrapping %v", err, errBoom)
	}
	if got := mustGet(t, b, key); !bytes.Equal(got, old) {
		t.Errorf("after a failed Put the object is %d bytes, want the old %d bytes", len(got), len(old))
	}
	if got := listAll(t, b, ""); !slices.Equal(got, []string{key}) {
		t.Errorf("List = %q, want only %q", got, key)
	}
}
