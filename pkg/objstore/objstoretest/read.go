package objstoretest

import (
	"bytes"
	"context"
	"errors"
	"testing"

	"github.com/skald-logs/skald/pkg/objstore"
)

func testGetRange(t *testing.T, b objstore.Bucket) {
	ctx := context.Background()
	key := "chunks/fake/ranged"
	data := randomBytes(8, 1000)
	mustPut(t, b, key, data)
	tests := []struct {
		name        string
		off, length int64
		want        []byte
	}{
		{"start", 0, 10, data[:10]},
		{"middle", 100, 50, data[100:150]},
		{"one byte", 500, 1, data[500:501]},
		{"last byte", 999, 1, data[999:]},
		{"exactly to end", 990, 10, data[990:]},
		{"to end, negative length", 990, -1, data[990:]},
		{"whole, negative length", 0, -1, data},
		{"whole, exact length", 0, 1000, data},
		{"past end", 990, 100, data[990:]},
		{"whole and more", 0, 1 << 40, data},
		{"zero length", 10, 0, nil},
		{"at end", 1000, 10, nil},
		{"at end, negative length", 1000, -1, nil},
		{"beyond end", 5000, 10, nil},
	}
	for _, tc := range tests {
		rc, err := b.GetRange(ctx, key, tc.off, tc.length)
		if err != nil {
			t.Errorf("%s: GetRange(%d, %d): %v", tc.name, tc.off, tc.length, err)
			continue
		}
		got, err := readAll(rc)
		if err != nil {
			t.Errorf("%s: reading GetRange(%d, %d): %v", tc.name, tc.off, tc.length, err)
			continue
		}
		if !bytes.Equal(got, tc.want) {
			t.Errorf("%s: GetRange(%d, %d) = %d bytes, want %d", tc.name, tc.off, tc.length, len(got), len(tc.want))
		}
	}
	if _, err := b.GetRange(ctx, key, -1, 10); !errors.Is(err, objstore.ErrInvalidRange) {
		t.Errorf("GetRange(-1, 10) error = %v, want ErrInvalidRange", err)
	}
}

func testGetRangeEmptyObject(t *testing.T, b objstore.Bucket) {
	ctx := context.Background()
	key := "empty/object"
	mustPut(t, b, key, nil)
	for _, r := range [][2]int64{{0, -1}, {0, 10}, {0, 0}, {5, 5}} {
		rc, err := b.GetRange(ctx, key, r[0], r[1])
		if err != nil {
			t.Errorf("GetRange(%d, %d): %v", r[0], r[1], err)
			continue
		}
		if got, err := readAll(rc); err != nil || len(got) != 0 {
			t.Errorf("GetRange(%d, %d) = %d bytes, %v; want 0 bytes", r[0], r[1], len(got), err)
		}
	}
}

func testNotFound(t *testing.T, b objstore.Bucket) {
	ctx := context.Background()
	wantNotFound(t, b, "missing")
	wantNotFound(t, b, "chunks/fake/missing")

	mustPut(t, b, "a/b/c", []byte("c"))
	// Directories of existing keys, neighbours and children are not objects.
	for _, key := range []string{"a", "a/b", "a/b/c/d", "a/b/cc", "a/b/", "b"} {
		if key == "a/b/" {
			continue // invalid, see InvalidKeys
		}
		wantNotFound(t, b, key)
		if err := b.Delete(ctx, key); err != nil {
			t.Errorf("Delete(%q) of a missing key: %v", key, err)
		}
	}
	if got := mustGet(t, b, "a/b/c"); string(got) != "c" {
		t.Errorf("a/b/c = %q after deleting its neighbours, want %q", got, "c")
	}
}

func testInvalidKeys(t *testing.T, b objstore.Bucket) {
	ctx := context.Background()
	mustPut(t, b, "a/b", []byte("valid"))
	keys := []string{
		"",
		"/abs",
		"/",
		"..",
		".",
		"../a",
		"a/..",
		"a/../b",
		"a/./b",
		"./a",
		"a//b",
		"a/",
		"a\x00b",
		"a\nb",
		"a\x7fb",
		"bad\xffutf8",
		string(bytes.Repeat([]byte("x"), 256)),
		string(bytes.Repeat([]byte("abcdefg/"), 128)) + "x", // 1025 bytes
	}
	for _, key := range keys {
		if _, err := b.Get(ctx, key); !errors.Is(err, objstore.ErrInvalidKey) {
			t.Errorf("Get(%q) error = %v, want ErrInvalidKey", key, err)
		}
		if _, err := b.GetRange(ctx, key, 0, 1); !errors.Is(err, objstore.ErrInvalidKey) {
			t.Errorf("GetRange(%q) error = %v, want ErrInvalidKey", key, err)
		}
		if err := b.Put(ctx, key, bytes.NewReader([]byte("x")), 1); !errors.Is(err, objstore.ErrInvalidKey) {
			t.Errorf("Put(%q) error = %v, want ErrInvalidKey", key, err)
		}
		if err := b.Delete(ctx, key); !errors.Is(err, objstore.ErrInvalidKey) {
			t.Errorf("Delete(%q) error = %v, want ErrInvalidKey", key, err)
		}
		if _, err := b.Attributes(ctx, key); !errors.Is(err, objstore.ErrInvalidKey) {
			t.Errorf("Attributes(%q) error = %v, want ErrInvalidKey", key, err)
		}
	}
	for _, prefix := range []string{"/", "/a", "..", "a/../b", "a//", "a//b", "a\x00", "a/./"} {
		err := b.List(ctx, prefix, func(string) error { return nil })
		if !errors.Is(err, objstore.ErrInvalidKey) {
			t.Errorf("List(%q) error = %v, want ErrInvalidKey", prefix, err)
		}
	}
	if got := listAll(t, b, ""); len(got) != 1 || got[0] != "a/b" {
		t.Errorf("List after invalid puts = %q, want only a/b", got)
	}
}

func testLarge(t *testing.T, b objstore.Bucket) {
	ctx := context.Background()
	key := "chunks/fake/large"
	data := randomBytes(9, 6<<20+13)
	mustPut(t, b, key, data)
	if got := mustGet(t, b, key); !bytes.Equal(got, data) {
		t.Fatalf("GetAll = %d bytes, want %d (or content differs)", len(got), len(data))
	}
	off, n := int64(3<<20-7), int64(1<<20+3)
	rc, err := b.GetRange(ctx, key, off, n)
	if err != nil {
		t.Fatal(err)
	}
	got, err := readAll(rc)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, data[off:off+n]) {
		t.Errorf("GetRange(%d, %d) = %d bytes, want %d (or content differs)", off, n, len(got), n)
	}
	attrs, err := b.Attributes(ctx, key)
	if err != nil {
		t.Fatal(err)
	}
	if attrs.Size != int64(len(data)) {
		t.Errorf("Size = %d, want %d", attrs.Size, len(data))
	}
}
