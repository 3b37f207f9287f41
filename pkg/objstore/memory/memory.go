// Package memory is an in-memory objstore.Bucket, for tests of the packages
// that store objects. It passes the same contract suite as the real stores.
package memory

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/skald-logs/skald/pkg/objstore"
)

// Bucket keeps objects in a map. The zero value is not usable; call New.
type Bucket struct {
	mu      sync.RWMutex
	objects map[string]object
	now     func() time.Time
}

type object struct {
	data    []byte // never modified after Put; Put replaces the slice
	modTime time.Time
}

var _ objstore.Bucket = (*Bucket)(nil)

// New returns an empty bucket.
func New() *Bucket {
	return &Bucket{objects: map[string]object{}, now: time.Now}
}

// Get implements objstore.Bucket.
func (b *Bucket) Get(ctx context.Context, key string) (io.ReadCloser, error) {
	o, err := b.lookup(ctx, "get", key)
	if err != nil {
		return nil, err
	}
	return newReader(o.data), nil
}

// GetRange implements objstore.Bucket.
func (b *Bucket) GetRange(ctx context.Context, key string, off, length int64) (io.ReadCloser, error) {
	if err := objstore.ValidateKey(key); err != nil {
		return nil, fmt.Errorf("get range: %w", err)
	}
	if off < 0 {
		return nil, fmt.Errorf("get range %q: %w: offset %d", key, objstore.ErrInvalidRange, off)
	}
	o, err := b.lookup(ctx, "get range", key)
	if err != nil {
		return nil, err
	}
	size := int64(len(o.data))
	off = min(off, size)
	end := size
	if length >= 0 && length < size-off {
		end = off + length
	}
	return newReader(o.data[off:end]), nil
}

// Put implements objstore.Bucket.
func (b *Bucket) Put(ctx context.Context, key string, r io.Reader, size int64) error {
	if err := objstore.ValidateKey(key); err != nil {
		return fmt.Errorf("put: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("put %q: %w", key, err)
	}
	var buf bytes.Buffer
	if size > 0 {
		buf.Grow(int(size) + bytes.MinRead)
	}
	n, err := io.Copy(&buf, ctxReader{ctx, r})
	if err != nil {
		return fmt.Errorf("put %q: %w", key, err)
	}
	if size >= 0 && n != size {
		return fmt.Errorf("put %q: read %d bytes, want %d", key, n, size)
	}
	b.mu.Lock()
	b.objects[key] = object{data: buf.Bytes(), modTime: b.now()}
	b.mu.Unlock()
	return nil
}

// List implements objstore.Bucket. fn runs without the bucket's lock held, so
// it may call the bucket.
func (b *Bucket) List(ctx context.Context, prefix string, fn func(key string) error) error {
	dir, err := objstore.ListDir(prefix)
	if err != nil {
		return fmt.Errorf("list: %w", err)
	}
	if dir != "" {
		dir += "/"
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("list %q: %w", prefix, err)
	}
	var keys []string
	b.mu.RLock()
	for k := range b.objects {
		if strings.HasPrefix(k, dir) {
			keys = append(keys, k)
		}
	}
	b.mu.RUnlock()
	sort.Strings(keys)
	for _, k := range keys {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("list %q: %w", prefix, err)
		}
		if err := fn(k); err != nil {
			return err
		}
	}
	return nil
}

// Delete implements objstore.Bucket.
func (b *Bucket) Delete(ctx context.Context, key string) error {
	if err := objstore.ValidateKey(key); err != nil {
		return fmt.Errorf("delete: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("delete %q: %w", key, err)
	}
	b.mu.Lock()
	delete(b.objects, key)
	b.mu.Unlock()
	return nil
}

// Attributes implements objstore.Bucket.
func (b *Bucket) Attributes(ctx context.Context, key string) (objstore.Attributes, error) {
	o, err := b.lookup(ctx, "attributes", key)
	if err != nil {
		return objstore.Attributes{}, err
	}
	return objstore.Attributes{Size: int64(len(o.data)), LastModified: o.modTime}, nil
}

// Close implements objstore.Bucket. The objects stay readable.
func (b *Bucket) Close() error { return nil }

// Len returns the number of objects in the bucket.
func (b *Bucket) Len() int {
	b.mu.RLock()
	defer b.mu.RUnlock()
	return len(b.objects)
}

func (b *Bucket) lookup(ctx context.Context, op, key string) (object, error) {
	if err := objstore.ValidateKey(key); err != nil {
		return object{}, fmt.Errorf("%s: %w", op, err)
	}
	if err := ctx.Err(); err != nil {
		return object{}, fmt.Errorf("%s %q: %w", op, key, err)
	}
	b.mu.RLock()
	o, ok := b.objects[key]
	b.mu.RUnlock()
	if !ok {
		return object{}, fmt.Errorf("%s %q: %w", op, key, objstore.ErrNotFound)
	}
	return o, nil
}

// reader reads a stored object. It implements objstore.Sizer.
type reader struct {
	bytes.Reader
	size int64
}

func newReader(data []byte) *reader {
	r := &reader{size: int64(len(data))}
	r.Reset(data)
	return r
}

func (r *reader) Size() int64  { return r.size }
func (r *reader) Close() error { return nil }

// ctxReader fails reads once its context is done, so that a cancelled Put
// stops reading.
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
