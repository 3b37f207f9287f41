package objstore

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// Limits of a key, chosen so that every key maps to a valid S3 key and to a
// valid path on common filesystems.
const (
	// MaxKeyLen is the maximum length of a key in bytes (S3's limit).
	MaxKeyLen = 1024
	// MaxSegmentLen is the maximum length of one '/'-separated segment of a
	// key in bytes (NAME_MAX of common filesystems).
	MaxSegmentLen = 255
)

// ValidateKey reports whether key is a valid object key: a relative
// '/'-separated path of at most MaxKeyLen bytes of UTF-8, whose segments are
// non-empty, at most MaxSegmentLen bytes, not "." or "..", and free of control
// characters (including NUL). An invalid key yields an error wrapping
// ErrInvalidKey.
func ValidateKey(key string) error {
	if reason := checkKey(key); reason != "" {
		return fmt.Errorf("%w %.200q: %s", ErrInvalidKey, key, reason)
	}
	return nil
}

// ListDir validates a List prefix and returns the directory it names, without
// a trailing '/': "" for the whole bucket, else a valid key. A prefix may end
// in one '/'. An invalid prefix yields an error wrapping ErrInvalidKey.
func ListDir(prefix string) (string, error) {
	if prefix == "" {
		return "", nil
	}
	dir := strings.TrimSuffix(prefix, "/")
	if reason := checkKey(dir); reason != "" {
		return "", fmt.Errorf("%w: list prefix %.200q: %s", ErrInvalidKey, prefix, reason)
	}
	return dir, nil
}

// checkKey returns why key is invalid, or "" if it is valid.
func checkKey(key string) string {
	switch {
	case key == "":
		return "empty"
	case len(key) > MaxKeyLen:
		return "longer than 1024 bytes"
	case key[0] == '/':
		return "absolute"
	case !utf8.ValidString(key):
		return "not UTF-8"
	}
	start := 0
	for i := 0; i <= len(key); i++ {
		if i < len(key) {
			c := key[i]
			if c < 0x20 || c == 0x7f {
				return "contains a control character"
			}
			if c != '/' {
				continue
			}
		}
		switch seg := key[start:i]; {
		case seg == "":
			return "empty path segment"
		case seg == "." || seg == "..":
			return "contains a . or .. segment"
		case len(seg) > MaxSegmentLen:
			return "path segment longer than 255 bytes"
		}
		start = i + 1
	}
	return ""
}
