package filesystem

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
)

// Put implements objstore.Bucket: it writes a temporary file beside the
// object, fsyncs it, renames it over the object and fsyncs the directory.
// Directories it creates are made durable too (their parents are fsynced).
func (b *Bucket) Put(ctx context.Context, key string, r io.Reader, size int64) error {
	if err := validKey(key); err != nil {
		return fmt.Errorf("put: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("put %q: %w", key, err)
	}
	path := b.path(key)
	dir := filepath.Dir(path)
	f, tmp, err := b.createTemp(dir)
	if err != nil {
		return fmt.Errorf("put %q: %w", key, err)
	}
	if err := writeFile(ctx, f, r, size); err != nil {
		f.Close()
		os.Remove(tmp)
		return fmt.Errorf("put %q: %w", key, err)
	}
	if err := f.Close(); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("put %q: %w", key, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		if fi, serr := os.Lstat(path); serr == nil && fi.IsDir() {
			return fmt.Errorf("put %q: the key is a directory of other objects", key)
		}
		return fmt.Errorf("put %q: %w", key, err)
	}
	if err := syncDir(dir); err != nil {
		return fmt.Errorf("put %q: %w", key, err)
	}
	return nil
}

// writeFile copies size bytes (or all, if size < 0) of r into f and fsyncs f.
func writeFile(ctx context.Context, f *os.File, r io.Reader, size int64) error {
	var (
		n   int64
		err error
	)
	if mem, ok := r.(inMemory); ok {
		// A bytes.Reader, bytes.Buffer or strings.Reader writes itself in
		// one call; no copy buffer needed.
		if size >= 0 && int64(mem.Len()) != size {
			return sizeErr(int64(mem.Len()), size)
		}
		n, err = mem.WriteTo(f)
	} else {
		if size >= 0 {
			// One byte more than announced, to notice a longer body.
			r = io.LimitReader(r, size+1)
		}
		bufp := copyBufs.Get().(*[]byte)
		// Hide f's ReadFrom, which would bring its own buffer.
		n, err = io.CopyBuffer(struct{ io.Writer }{f}, ctxReader{ctx, r}, *bufp)
		copyBufs.Put(bufp)
	}
	if err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if size >= 0 && n != size {
		return sizeErr(n, size)
	}
	return f.Sync()
}

// inMemory is a body that knows its length and can write itself.
type inMemory interface {
	io.WriterTo
	Len() int
}

func sizeErr(n, size int64) error {
	if n > size {
		return fmt.Errorf("body is longer than size %d", size)
	}
	return fmt.Errorf("body is %d bytes, size says %d", n, size)
}

var copyBufs = sync.Pool{New: func() any {
	b := make([]byte, 256<<10)
	return &b
}}

// createTemp creates a new temporary file in dir, creating dir (and its
// parents) if needed. A concurrent Delete may remove an empty dir between
// its creation and the creation of the file, so that is retried.
func (b *Bucket) createTemp(dir string) (*os.File, string, error) {
	var lastErr error
	for range 100 {
		name := filepath.Join(dir, tmpPrefix+strconv.FormatUint(rand.Uint64(), 36))
		f, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
		switch {
		case err == nil:
			return f, name, nil
		case errors.Is(err, fs.ErrExist):
			// A name collision: pick another.
		case errors.Is(err, fs.ErrNotExist):
			// mkdirAll too can lose a race with Delete: try again.
			if err := b.mkdirAll(dir); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return nil, "", err
			}
		case isNotDir(err):
			return nil, "", errors.New("a directory of the key is an object")
		default:
			return nil, "", err
		}
		lastErr = err
	}
	return nil, "", lastErr
}

// mkdirAll creates dir and its missing parents below the bucket directory,
// fsyncing the parent of each directory it creates.
func (b *Bucket) mkdirAll(dir string) error {
	err := os.Mkdir(dir, 0o755)
	if errors.Is(err, fs.ErrNotExist) && dir != b.dir {
		if err := b.mkdirAll(filepath.Dir(dir)); err != nil {
			return err
		}
		err = os.Mkdir(dir, 0o755)
	}
	switch {
	case err == nil:
		return syncDir(filepath.Dir(dir))
	case errors.Is(err, fs.ErrExist):
		return nil // a concurrent Put made it, or it is a file (createTemp sees ENOTDIR)
	case isNotDir(err):
		return errors.New("a directory of the key is an object")
	default:
		return err
	}
}

// syncDir fsyncs a directory, making the creation, renaming and removal of
// its entries durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}

func isNotDir(err error) bool {
	return errors.Is(err, syscall.ENOTDIR)
}

// ctxReader fails reads once its context is done, so that a cancelled Put
// stops reading a slow body.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}
