// Package filesystem is the embedded object store of the single binary: an
// objstore.Bucket that keeps each object as a file under one directory.
//
// The key "a/b/c" is the file <Dir>/a/b/c. Put writes a temporary file in the
// object's directory, fsyncs it, renames it over the object and fsyncs the
// directory, so a crash leaves either the old object or the new one, never a
// part. Temporary files are named ".skald-tmp-<random>"; List skips them, and
// keys whose last segment starts with that prefix are refused.
package filesystem

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/skald-logs/skald/pkg/objstore"
)

// Config configures a filesystem bucket.
type Config struct {
	// Dir is the directory that holds the objects. It is created if missing.
	Dir string `yaml:"dir"`
}

// RegisterFlags registers the flags of Config on f, with their defaults.
func (c *Config) RegisterFlags(f *flag.FlagSet) {
	f.StringVar(&c.Dir, "filesystem.dir", "data/objects", "Directory of the filesystem object store.")
}

// Validate reports whether the config is usable.
func (c *Config) Validate() error {
	if c.Dir == "" {
		return errors.New("filesystem object store: dir is empty")
	}
	return nil
}

// tmpPrefix starts the name of every temporary file of Put.
const tmpPrefix = ".skald-tmp-"

// Bucket is a filesystem objstore.Bucket. It is safe for concurrent use, also
// by several processes sharing the directory.
type Bucket struct {
	dir    string // absolute, cleaned
	logger *slog.Logger
}

var _ objstore.Bucket = (*Bucket)(nil)

// New opens (creating it if needed) the object directory cfg.Dir.
func New(cfg Config, logger *slog.Logger) (*Bucket, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	dir, err := filepath.Abs(cfg.Dir)
	if err != nil {
		return nil, fmt.Errorf("filesystem object store: %w", err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("filesystem object store: %w", err)
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if n := removeStaleTemp(dir, time.Now().Add(-staleTempAge)); n > 0 {
		logger.Info("removed temporary files left by interrupted writes", "dir", dir, "files", n)
	}
	logger.Debug("filesystem object store opened", "dir", dir)
	return &Bucket{dir: dir, logger: logger}, nil
}

// staleTempAge: a temporary file older than this is left by a write that
// was interrupted (a crash), not one in progress in another process.
const staleTempAge = time.Hour

// removeStaleTemp deletes the temporary files of Put older than before and
// returns how many it deleted. Errors are ignored: a file it cannot remove
// stays invisible to readers, as every temporary file is.
func removeStaleTemp(dir string, before time.Time) int {
	n := 0
	_ = filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasPrefix(d.Name(), tmpPrefix) {
			return nil
		}
		if info, err := d.Info(); err == nil && info.ModTime().Before(before) && os.Remove(path) == nil {
			n++
		}
		return nil
	})
	return n
}

// Dir returns the absolute directory of the bucket.
func (b *Bucket) Dir() string { return b.dir }

// Get implements objstore.Bucket.
func (b *Bucket) Get(ctx context.Context, key string) (io.ReadCloser, error) {
	f, size, err := b.open(ctx, "get", key)
	if err != nil {
		return nil, err
	}
	return &file{File: f, size: size}, nil
}

// GetRange implements objstore.Bucket.
func (b *Bucket) GetRange(ctx context.Context, key string, off, length int64) (io.ReadCloser, error) {
	if err := validKey(key); err != nil {
		return nil, fmt.Errorf("get range: %w", err)
	}
	if off < 0 {
		return nil, fmt.Errorf("get range %q: %w: offset %d", key, objstore.ErrInvalidRange, off)
	}
	f, size, err := b.open(ctx, "get range", key)
	if err != nil {
		return nil, err
	}
	off = min(off, size)
	n := size - off
	if length >= 0 && length < n {
		n = length
	}
	return &section{SectionReader: io.NewSectionReader(f, off, n), f: f}, nil
}

// Attributes implements objstore.Bucket.
func (b *Bucket) Attributes(ctx context.Context, key string) (objstore.Attributes, error) {
	if err := validKey(key); err != nil {
		return objstore.Attributes{}, fmt.Errorf("attributes: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return objstore.Attributes{}, fmt.Errorf("attributes %q: %w", key, err)
	}
	fi, err := os.Stat(b.path(key))
	if err == nil && !fi.Mode().IsRegular() {
		err = fs.ErrNotExist
	}
	if err != nil {
		return objstore.Attributes{}, b.pathErr("attributes", key, err)
	}
	return objstore.Attributes{Size: fi.Size(), LastModified: fi.ModTime()}, nil
}

// Delete implements objstore.Bucket. It also removes the directories that the
// deletion leaves empty, up to but not including the bucket directory.
func (b *Bucket) Delete(ctx context.Context, key string) error {
	if err := validKey(key); err != nil {
		return fmt.Errorf("delete: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("delete %q: %w", key, err)
	}
	path := b.path(key)
	fi, err := os.Lstat(path)
	if err != nil || fi.IsDir() {
		// A missing object, a missing parent, a parent that is a file, or
		// a directory of other keys: no object to delete.
		if err == nil || isNotFound(err) {
			return nil
		}
		return fmt.Errorf("delete %q: %w", key, err)
	}
	if err := os.Remove(path); err != nil {
		if isNotFound(err) {
			return nil
		}
		return fmt.Errorf("delete %q: %w", key, err)
	}
	dir := filepath.Dir(path)
	for dir != b.dir {
		// Fails, and stops the climb, when dir is not empty (or was just
		// removed by a concurrent Delete).
		if os.Remove(dir) != nil {
			break
		}
		dir = filepath.Dir(dir)
	}
	if err := syncDir(dir); err != nil && !isNotFound(err) {
		return fmt.Errorf("delete %q: %w", key, err)
	}
	return nil
}

// Close implements objstore.Bucket. It holds no resources.
func (b *Bucket) Close() error { return nil }

// open opens the object file of key and returns it with its size.
func (b *Bucket) open(ctx context.Context, op, key string) (*os.File, int64, error) {
	if err := validKey(key); err != nil {
		return nil, 0, fmt.Errorf("%s: %w", op, err)
	}
	if err := ctx.Err(); err != nil {
		return nil, 0, fmt.Errorf("%s %q: %w", op, key, err)
	}
	f, err := os.Open(b.path(key))
	if err != nil {
		return nil, 0, b.pathErr(op, key, err)
	}
	fi, err := f.Stat()
	if err == nil && !fi.Mode().IsRegular() {
		err = fs.ErrNotExist
	}
	if err != nil {
		f.Close()
		return nil, 0, b.pathErr(op, key, err)
	}
	return f, fi.Size(), nil
}

// path returns the file of a valid key.
func (b *Bucket) path(key string) string {
	return b.dir + string(filepath.Separator) + filepath.FromSlash(key)
}

// pathErr wraps an error of the file system, mapping a missing file to
// objstore.ErrNotFound.
func (b *Bucket) pathErr(op, key string, err error) error {
	if isNotFound(err) {
		return fmt.Errorf("%s %q: %w", op, key, objstore.ErrNotFound)
	}
	return fmt.Errorf("%s %q: %w", op, key, err)
}

// isNotFound reports whether err says that a path does not exist, including
// the case of a path whose parent is a file (ENOTDIR).
func isNotFound(err error) bool {
	return errors.Is(err, fs.ErrNotExist) || isNotDir(err)
}

// validKey checks the shared key rules and refuses the names of temporary
// files.
func validKey(key string) error {
	if err := objstore.ValidateKey(key); err != nil {
		return err
	}
	base := key[strings.LastIndexByte(key, '/')+1:]
	if strings.HasPrefix(base, tmpPrefix) {
		return fmt.Errorf("%w %q: the filesystem store reserves names starting with %q", objstore.ErrInvalidKey, key, tmpPrefix)
	}
	return nil
}

// file is the reader of Get. It implements objstore.Sizer.
type file struct {
	*os.File
	size int64
}

func (f *file) Size() int64 { return f.size }

// section is the reader of GetRange. It implements objstore.Sizer.
type section struct {
	*io.SectionReader
	f *os.File
}

func (s *section) Close() error { return s.f.Close() }
