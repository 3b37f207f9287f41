package objstore

import (
	"errors"
	"path"
	"path/filepath"
	"strings"
	"testing"
)

func TestValidateKey(t *testing.T) {
	tests := []struct {
		key   string
		valid bool
	}{
		{"a", true},
		{"chunks/fake/00ab12/18c1a2b3c4d:18c1a2b3c5e:9f8e7d6c", true},
		{"index/fake/20412/ingester-1.idx", true},
		{"..a/b..", true},
		{".a/...", true},
		{"with space/and+plus", true},
		{"日本語/ключ", true},
		{strings.Repeat("x", 255), true},
		{strings.Repeat(strings.Repeat("x", 200)+"/", 5) + strings.Repeat("y", 19), true}, // 1024 bytes
		{"", false},
		{"/", false},
		{"/a", false},
		{"a/", false},
		{"a//b", false},
		{".", false},
		{"..", false},
		{"./a", false},
		{"a/.", false},
		{"a/../b", false},
		{"a/..", false},
		{"a\x00", false},
		{"a\tb", false},
		{"a\x1fb", false},
		{"a\x7f", false},
		{"\xff", false},
		{"a/\xc3", false},
		{strings.Repeat("x", 256), false},
		{strings.Repeat(strings.Repeat("x", 200)+"/", 5) + strings.Repeat("y", 20), false}, // 1025 bytes
	}
	for _, tc := range tests {
		err := ValidateKey(tc.key)
		if tc.valid && err != nil {
			t.Errorf("ValidateKey(%.40q) = %v, want nil", tc.key, err)
		}
		if !tc.valid && !errors.Is(err, ErrInvalidKey) {
			t.Errorf("ValidateKey(%.40q) = %v, want ErrInvalidKey", tc.key, err)
		}
	}
}

func TestListDir(t *testing.T) {
	tests := []struct {
		prefix, dir string
		valid       bool
	}{
		{"", "", true},
		{"a", "a", true},
		{"a/", "a", true},
		{"a/b", "a/b", true},
		{"a/b/", "a/b", true},
		{"/", "", false},
		{"a//", "", false},
		{"//", "", false},
		{"/a", "", false},
		{"../", "", false},
		{"a/./", "", false},
		{"a\x00/", "", false},
	}
	for _, tc := range tests {
		dir, err := ListDir(tc.prefix)
		if tc.valid && (err != nil || dir != tc.dir) {
			t.Errorf("ListDir(%q) = %q, %v; want %q", tc.prefix, dir, err, tc.dir)
		}
		if !tc.valid && !errors.Is(err, ErrInvalidKey) {
			t.Errorf("ListDir(%q) error = %v, want ErrInvalidKey", tc.prefix, err)
		}
	}
}

// FuzzValidateKey checks that every key ValidateKey accepts is a clean
// relative path that stays inside a directory it is joined to, and is a
// valid List prefix naming itself.
func FuzzValidateKey(f *testing.F) {
	for _, s := range []string{"a", "a/b", "../a", "a/../b", "a//b", "/a", "a/", ".", "a\x00", "日本", "\xff", "a/./b", "...", "a/.b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, key string) {
		err := ValidateKey(key)
		if err != nil {
			if !errors.Is(err, ErrInvalidKey) {
				t.Fatalf("ValidateKey(%q) = %v, not ErrInvalidKey", key, err)
			}
			if _, lerr := ListDir(key); lerr == nil && key != "" && !strings.HasSuffix(key, "/") {
				t.Fatalf("ListDir accepts %q that ValidateKey refuses", key)
			}
			return
		}
		if path.Clean(key) != key || path.IsAbs(key) || strings.HasPrefix(key, "../") || key == ".." {
			t.Fatalf("valid key %q is not a clean relative path", key)
		}
		if len(key) > MaxKeyLen {
			t.Fatalf("valid key %q is longer than %d bytes", key, MaxKeyLen)
		}
		root := "/srv/objects"
		if p := filepath.Join(root, key); !strings.HasPrefix(p, root+"/") {
			t.Fatalf("valid key %q escapes its directory: %q", key, p)
		}
		for _, prefix := range []string{key, key + "/"} {
			if dir, err := ListDir(prefix); err != nil || dir != key {
				t.Fatalf("ListDir(%q) = %q, %v; want %q", prefix, dir, err, key)
			}
		}
	})
}
