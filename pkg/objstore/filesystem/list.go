package filesystem

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/skald-logs/skald/pkg/objstore"
)

// List implements objstore.Bucket. It walks the directory tree depth first,
// visiting the entries of each directory in the order that makes the keys
// come out in ascending byte order, and streams the keys to fn.
func (b *Bucket) List(ctx context.Context, prefix string, fn func(key string) error) error {
	dir, err := objstore.ListDir(prefix)
	if err != nil {
		return fmt.Errorf("list: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("list %q: %w", prefix, err)
	}
	root, keyPrefix := b.dir, ""
	if dir != "" {
		root, keyPrefix = b.path(dir), dir+"/"
	}
	err = b.walk(ctx, root, keyPrefix, fn)
	if err != nil && ctx.Err() != nil {
		return fmt.Errorf("list %q: %w", prefix, err)
	}
	return err
}

type dirEntry struct {
	name  string
	isDir bool
	sort  string // name, plus "/" for a directory
}

// walk lists the keys under the directory path, whose keys start with
// keyPrefix. A directory that does not exist (or is a file) holds no keys.
func (b *Bucket) walk(ctx context.Context, path, keyPrefix string, fn func(string) error) error {
	des, err := os.ReadDir(path)
	if err != nil {
		if isNotFound(err) {
			return nil
		}
		return fmt.Errorf("list: %w", err)
	}
	entries := make([]dirEntry, 0, len(des))
	for _, de := range des {
		name := de.Name()
		switch t := de.Type(); {
		case t.IsDir():
			entries = append(entries, dirEntry{name: name, isDir: true, sort: name + "/"})
		case t.IsRegular() && !strings.HasPrefix(name, tmpPrefix):
			entries = append(entries, dirEntry{name: name, sort: name})
		}
	}
	// Keys under directory "b" are "b/...", which sorts after the file
	// "b.txt" ('.' < '/'); ReadDir sorted by bare name.
	slices.SortFunc(entries, func(x, y dirEntry) int { return strings.Compare(x.sort, y.sort) })
	for _, e := range entries {
		if err := ctx.Err(); err != nil {
			return err
		}
		if e.isDir {
			if err := b.walk(ctx, filepath.Join(path, e.name), keyPrefix+e.sort, fn); err != nil {
				return err
			}
			continue
		}
		if err := fn(keyPrefix + e.name); err != nil {
			return err
		}
	}
	return nil
}
