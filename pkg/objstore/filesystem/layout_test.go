package filesystem

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/skald-logs/skald/pkg/objstore"
)

// files returns the relative paths of all entries under dir, directories with
// a trailing '/'.
func files(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p == dir {
			return nil
		}
		rel, _ := filepath.Rel(dir, p)
		if d.IsDir() {
			rel += "/"
		}
		out = append(out, filepath.ToSlash(rel))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestLayout(t *testing.T) {
	ctx := context.Background()
	b := newBucket(t)
	for _, k := range []string{"chunks/fake/00ab/1", "chunks/fake/00ab/2", "index/fake/20412/x"} {
		if err := b.Put(ctx, k, strings.NewReader("data of "+k), int64(len("data of "+k))); err != nil {
			t.Fatal(err)
		}
	}
	want := []string{"chunks/", "chunks/fake/", "chunks/fake/00ab/", "chunks/fake/00ab/1", "chunks/fake/00ab/2",
		"index/", "index/fake/", "index/fake/20412/", "index/fake/20412/x"}
	if got := files(t, b.Dir()); !slices.Equal(got, want) {
		t.Errorf("files after puts = %q, want %q (no temporary files)", got, want)
	}
	data, err := os.ReadFile(filepath.Join(b.Dir(), "chunks", "fake", "00ab", "2"))
	if err != nil || string(data) != "data of chunks/fake/00ab/2" {
		t.Errorf("object file = %q, %v", data, err)
	}

	// Deleting the last object of a directory removes the directories it
	// leaves empty, but never the bucket directory.
	steps := []struct {
		del  string
		want []string
	}{
		{"chunks/fake/00ab/1", []string{"chunks/", "chunks/fake/", "chunks/fake/00ab/", "chunks/fake/00ab/2",
			"index/", "index/fake/", "index/fake/20412/", "index/fake/20412/x"}},
		{"chunks/fake/00ab/2", []string{"index/", "index/fake/", "index/fake/20412/", "index/fake/20412/x"}},
		{"index/fake/20412/x", nil},
	}
	for _, s := range steps {
		if err := b.Delete(ctx, s.del); err != nil {
			t.Fatal(err)
		}
		if got := files(t, b.Dir()); !slices.Equal(got, s.want) {
			t.Errorf("files after deleting %s = %q, want %q", s.del, got, s.want)
		}
	}
	if fi, err := os.Stat(b.Dir()); err != nil || !fi.IsDir() {
		t.Errorf("bucket directory gone after deleting everything: %v", err)
	}
}

func TestNoTempFilesAfterFailures(t *testing.T) {
	ctx := context.Background()
	b := newBucket(t)
	errRead := errors.New("read failed")
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	failures := []struct {
		name string
		put  func() error
	}{
		{"short body", func() error { return b.Put(ctx, "d/k", strings.NewReader("abc"), 4) }},
		{"long body", func() error { return b.Put(ctx, "d/k", strings.NewReader("abc"), 2) }},
		{"reader error", func() error { return b.Put(ctx, "d/k", &failingReader{err: errRead}, 10) }},
		{"cancelled", func() error { return b.Put(cancelled, "d/k", strings.NewReader("abc"), 3) }},
	}
	for _, f := range failures {
		if err := f.put(); err == nil {
			t.Errorf("%s: Put succeeded", f.name)
		}
	}
	for _, name := range files(t, b.Dir()) {
		if strings.Contains(name, tmpPrefix) {
			t.Errorf("temporary file left behind: %s", name)
		}
	}
}

type failingReader struct{ err error }

func (f *failingReader) Read(p []byte) (int, error) {
	if f.err == nil {
		return 0, nil
	}
	n := copy(p, "xy")
	err := f.err
	f.err = nil
	return n, err
}

func TestTempFilesAreHidden(t *testing.T) {
	ctx := context.Background()
	b := newBucket(t)
	if err := b.Put(ctx, "a/b", strings.NewReader("b"), 1); err != nil {
		t.Fatal(err)
	}
	// A temporary file left by a crash in the middle of a Put.
	stale := filepath.Join(b.Dir(), "a", tmpPrefix+"123")
	if err := os.WriteFile(stale, []byte("partial"), 0o644); err != nil {
		t.Fatal(err)
	}
	var keys []string
	if err := b.List(ctx, "", func(k string) error { keys = append(keys, k); return nil }); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(keys, []string{"a/b"}) {
		t.Errorf("List = %q, want only a/b", keys)
	}
	for _, k := range []string{"a/" + tmpPrefix + "123", tmpPrefix + "x"} {
		if _, err := b.Get(ctx, k); !errors.Is(err, objstore.ErrInvalidKey) {
			t.Errorf("Get(%q) error = %v, want ErrInvalidKey", k, err)
		}
		if err := b.Put(ctx, k, strings.NewReader("x"), 1); !errors.Is(err, objstore.ErrInvalidKey) {
			t.Errorf("Put(%q) error = %v, want ErrInvalidKey", k, err)
		}
	}
	// A directory may carry the prefix; only file names are reserved.
	if err := b.Put(ctx, tmpPrefix+"dir/x", strings.NewReader("x"), 1); err != nil {
		t.Errorf("Put under a directory named like a temporary file: %v", err)
	}
}

func TestListSkipsOtherFiles(t *testing.T) {
	ctx := context.Background()
	b := newBucket(t)
	if err := b.Put(ctx, "a/b", strings.NewReader("b"), 1); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(b.Dir(), "a", "b"), filepath.Join(b.Dir(), "a", "link")); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(b.Dir(), "empty"), 0o755); err != nil {
		t.Fatal(err)
	}
	var keys []string
	if err := b.List(ctx, "", func(k string) error { keys = append(keys, k); return nil }); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(keys, []string{"a/b"}) {
		t.Errorf("List = %q, want only a/b", keys)
	}
}

// TestKeyDirectoryConflicts checks that a key that is a directory of other
// keys, or whose directory is an object, fails cleanly.
func TestKeyDirectoryConflicts(t *testing.T) {
	ctx := context.Background()
	b := newBucket(t)
	if err := b.Put(ctx, "a/b", strings.NewReader("b"), 1); err != nil {
		t.Fatal(err)
	}
	if err := b.Put(ctx, "a/b/c", strings.NewReader("c"), 1); err == nil {
		t.Error("Put(a/b/c) with an object at a/b succeeded")
	}
	if err := b.Put(ctx, "a", strings.NewReader("a"), 1); err == nil {
		t.Error("Put(a) with an object at a/b succeeded")
	}
	if got, err := objstore.GetAll(ctx, b, "a/b"); err != nil || string(got) != "b" {
		t.Errorf("a/b = %q, %v after conflicting puts", got, err)
	}
	if err := b.Delete(ctx, "a"); err != nil {
		t.Errorf("Delete(a) of a directory: %v", err)
	}
	if got := files(t, b.Dir()); !slices.Equal(got, []string{"a/", "a/b"}) {
		t.Errorf("files = %q, want a/ and a/b only", got)
	}
}

// TestConcurrentPutDeleteSameDir races Puts against Deletes that empty (and so
// remove) the directory the Puts write into.
func TestConcurrentPutDeleteSameDir(t *testing.T) {
	ctx := context.Background()
	b := newBucket(t)
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			for i := range 30 {
				key := fmt.Sprintf("chunks/fake/%d/%d/%d", i%2, w, i)
				data := []byte(key)
				if err := b.Put(ctx, key, bytes.NewReader(data), int64(len(data))); err != nil {
					t.Errorf("Put(%q): %v", key, err)
					return
				}
				if got, err := objstore.GetAll(ctx, b, key); err != nil || !bytes.Equal(got, data) {
					t.Errorf("GetAll(%q) = %q, %v", key, got, err)
					return
				}
				if err := b.Delete(ctx, key); err != nil {
					t.Errorf("Delete(%q): %v", key, err)
					return
				}
			}
		})
	}
	wg.Wait()
	if got := files(t, b.Dir()); len(got) != 0 {
		t.Errorf("files left = %q, want none", got)
	}
}

func TestNew(t *testing.T) {
	if _, err := New(Config{}, nil); err == nil {
		t.Error("New with an empty dir succeeded")
	}
	nested := filepath.Join(t.TempDir(), "x", "y")
	b, err := New(Config{Dir: nested}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(nested); err != nil || !fi.IsDir() {
		t.Errorf("New did not create %s: %v", nested, err)
	}
	if !filepath.IsAbs(b.Dir()) {
		t.Errorf("Dir() = %q, want an absolute path", b.Dir())
	}
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := New(Config{Dir: file}, nil); err == nil {
		t.Error("New on a regular file succeeded")
	}
}

func TestOpenRemovesStaleTemporaryFiles(t *testing.T) {
	dir := t.TempDir()
	stale := filepath.Join(dir, "chunks", tmpPrefix+"old")
	fresh := filepath.Join(dir, "chunks", tmpPrefix+"new")
	object := filepath.Join(dir, "chunks", "kept")
	if err := os.MkdirAll(filepath.Dir(stale), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{stale, fresh, object} {
		if err := os.WriteFile(p, []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	old := time.Now().Add(-2 * time.Hour)
	if err := os.Chtimes(stale, old, old); err != nil {
		t.Fatal(err)
	}
	if _, err := New(Config{Dir: dir}, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(stale); !os.IsNotExist(err) {
		t.Errorf("stale temporary file still there: %v", err)
	}
	for _, p := range []string{fresh, object} {
		if _, err := os.Stat(p); err != nil {
			t.Errorf("%s removed: %v", p, err)
		}
	}
}
