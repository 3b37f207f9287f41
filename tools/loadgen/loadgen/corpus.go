package loadgen

import (
	"bytes"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// CorpusFile is the lines of one corpus file.
type CorpusFile struct {
	// Name is the file's base name without extension; streams reading the
	// file carry it as the label source.
	Name  string
	Lines [][]byte
}

// Format is "json" when most lines are JSON objects, else "text": the value
// of the format label of the streams reading the file.
func (f *CorpusFile) Format() string {
	n := 0
	for _, l := range f.Lines {
		if len(l) > 0 && l[0] == '{' {
			n++
		}
	}
	if 2*n > len(f.Lines) {
		return "json"
	}
	return "text"
}

// SplitLines splits data into lines, dropping line terminators (LF or
// CRLF) and empty lines. The lines alias data.
func SplitLines(data []byte) [][]byte {
	var lines [][]byte
	for len(data) > 0 {
		i := bytes.IndexByte(data, '\n')
		var line []byte
		if i < 0 {
			line, data = data, nil
		} else {
			line, data = data[:i], data[i+1:]
		}
		line = bytes.TrimSuffix(line, []byte{'\r'})
		if len(line) > 0 {
			lines = append(lines, line)
		}
	}
	return lines
}

// LoadCorpus reads corpus files. Each pattern is a file, a directory (every
// regular file below it) or a glob. Files are returned sorted by path, so a
// workload does not depend on the order patterns were given in.
func LoadCorpus(patterns []string) ([]CorpusFile, error) {
	seen := map[string]bool{}
	var paths []string
	add := func(p string) {
		if !seen[p] {
			seen[p] = true
			paths = append(paths, p)
		}
	}
	for _, pat := range patterns {
		if pat == "" {
			continue
		}
		matches, err := filepath.Glob(pat)
		if err != nil {
			return nil, fmt.Errorf("%w: corpus pattern %q: %v", ErrConfig, pat, err)
		}
		if len(matches) == 0 {
			return nil, fmt.Errorf("%w: corpus %q matches no file", ErrConfig, pat)
		}
		for _, m := range matches {
			err := filepath.WalkDir(m, func(p string, d fs.DirEntry, err error) error {
				if err != nil {
					return err
				}
				if d.Type().IsRegular() {
					add(p)
				}
				return nil
			})
			if err != nil {
				return nil, fmt.Errorf("corpus %s: %w", m, err)
			}
		}
	}
	sort.Strings(paths)
	var files []CorpusFile
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			return nil, fmt.Errorf("corpus: %w", err)
		}
		lines := SplitLines(data)
		if len(lines) == 0 {
			continue
		}
		name := filepath.Base(p)
		name = strings.TrimSuffix(name, filepath.Ext(name))
		files = append(files, CorpusFile{Name: name, Lines: lines})
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("%w: corpus has no lines", ErrConfig)
	}
	return files, nil
}
