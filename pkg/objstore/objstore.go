// Package objstore defines Bucket, the object store that Skald keeps its
// immutable chunk and index objects in, together with the key rules and the
// errors that every implementation shares.
//
// Implementations live in subpackages: filesystem (the embedded store of the
// single binary), s3 (any S3-compatible server) and memory (for tests of other
// packages). objstoretest holds the contract suite they all pass.
package objstore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"
)

// Errors shared by every Bucket implementation. They are returned wrapped;
// test for them with errors.Is.
var (
	// ErrNotFound is returned by Get, GetRange and Attributes for a key that
	// holds no object.
	ErrNotFound = errors.New("object not found")
	// ErrInvalidKey is returned for a key or list prefix that breaks the key
	// rules (see ValidateKey).
	ErrInvalidKey = errors.New("invalid object key")
	// ErrInvalidRange is returned by GetRange for a negative offset.
	ErrInvalidRange = errors.New("invalid range")
)

// Bucket is a flat store of immutable-by-convention objects named by keys.
//
// Keys are '/'-separated paths (see ValidateKey). A key must not also be a
// directory of other keys: "a/b" and "a/b/c" cannot both exist, because the
// filesystem and most S3-compatible servers with a filesystem backend map
// keys to files. Skald's key layouts never need both.
//
// All methods are safe for concurrent use. Every method that does I/O takes a
// context; cancelling it aborts the call with an error that wraps ctx.Err().
type Bucket interface {
	// Get returns a reader of the whole object. It returns an error wrapping
	// ErrNotFound if the key holds no object. The caller must close the
	// reader. The reader may implement Sizer.
	Get(ctx context.Context, key string) (io.ReadCloser, error)

	// GetRange returns a reader of length bytes of the object starting at
	// byte off. A negative length reads to the end of the object. A range
	// that reaches past the end of the object is cut at the end; a range
	// that starts at or past the end reads nothing. A negative off is an
	// error wrapping ErrInvalidRange. A missing object is an error wrapping
	// ErrNotFound. The caller must close the reader.
	GetRange(ctx context.Context, key string, off, length int64) (io.ReadCloser, error)

	// Put stores the object read from r under key, replacing any object
	// already there. size is the number of bytes r yields, or -1 if unknown;
	// if r yields a different number of bytes, Put fails. Put is atomic:
	// readers see either the old object or the whole new one, never a part,
	// and a failed Put leaves the key as it was.
	Put(ctx context.Context, key string, r io.Reader, size int64) error

	// List calls fn with every key under prefix, recursively, in ascending
	// byte order. prefix names a directory: "a/b" (or "a/b/") lists "a/b/c"
	// and "a/b/d/e" but not "a/bc" or "a/b" itself; the empty prefix lists
	// the whole bucket. If fn returns an error, List stops and returns it.
	// Objects put or deleted while List runs may or may not be seen.
	List(ctx context.Context, prefix string, fn func(key string) error) error

	// Delete removes the object under key. Deleting a missing key is not an
	// error.
	Delete(ctx context.Context, key string) error

	// Attributes returns the size and modification time of the object, or an
	// error wrapping ErrNotFound.
	Attributes(ctx context.Context, key string) (Attributes, error)

	// Close releases the resources of the bucket. No method may be called
	// after Close.
	Close() error
}

// Attributes describe a stored object.
type Attributes struct {
	// Size is the length of the object in bytes.
	Size int64
	// LastModified is when the object was last put. Its precision depends
	// on the implementation (one second on S3).
	LastModified time.Time
}

// Sizer is implemented by readers that know how many bytes they will yield.
// GetAll uses it to read an object into one exactly sized buffer.
type Sizer interface {
	Size() int64
}

// GetAll reads the whole object under key into memory.
func GetAll(ctx context.Context, b Bucket, key string) ([]byte, error) {
	rc, err := b.Get(ctx, key)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	s, ok := rc.(Sizer)
	if !ok || s.Size() < 0 {
		buf, err := io.ReadAll(rc)
		if err != nil {
			return nil, fmt.Errorf("get %q: %w", key, err)
		}
		return buf, nil
	}
	// One exactly sized buffer, plus one byte to see that the reader ends
	// where it said it would.
	buf := make([]byte, s.Size()+1)
	n, err := io.ReadFull(rc, buf)
	switch {
	case (err == io.ErrUnexpectedEOF || err == io.EOF) && int64(n) == s.Size():
		return buf[:n], nil
	case err == io.ErrUnexpectedEOF || err == io.EOF:
		return nil, fmt.Errorf("get %q: %w", key, errors.New("object shorter than its size"))
	case err != nil:
		return nil, fmt.Errorf("get %q: %w", key, err)
	default:
		return nil, fmt.Errorf("get %q: %w", key, errors.New("object longer than its size"))
	}
}
