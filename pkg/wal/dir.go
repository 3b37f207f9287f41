package wal

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

const checkpointPrefix = "checkpoint."

func segmentName(i int) string { return fmt.Sprintf("%08d", i) }

func segmentPath(dir string, i int) string { return filepath.Join(dir, segmentName(i)) }

func checkpointPath(dir string, i int) string {
	return filepath.Join(dir, checkpointPrefix+segmentName(i))
}

// dirContents is what a WAL directory holds, indexes ascending.
type dirContents struct {
	segments    []int
	checkpoints []int
	tmp         []string // names of interrupted checkpoints
}

func listDir(dir string) (dirContents, error) {
	var d dirContents
	des, err := os.ReadDir(dir)
	if err != nil {
		return d, fmt.Errorf("list wal dir: %w", err)
	}
	for _, de := range des {
		name := de.Name()
		switch {
		case strings.HasPrefix(name, checkpointPrefix) && strings.HasSuffix(name, ".tmp"):
			d.tmp = append(d.tmp, name)
		case strings.HasPrefix(name, checkpointPrefix) && de.IsDir():
			if i, ok := parseIndex(name[len(checkpointPrefix):]); ok {
				d.checkpoints = append(d.checkpoints, i)
			}
		case de.Type().IsRegular():
			if i, ok := parseIndex(name); ok {
				d.segments = append(d.segments, i)
			}
		}
	}
	slices.Sort(d.segments)
	slices.Sort(d.checkpoints)
	return d, nil
}

// parseIndex reads a segment or checkpoint index: eight or more digits.
func parseIndex(s string) (int, bool) {
	if len(s) < 8 {
		return 0, false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return 0, false
		}
	}
	i, err := strconv.Atoi(s)
	return i, err == nil
}

// segmentFiles lists the segment files of a directory (a checkpoint's),
// ascending.
func segmentFiles(dir string) ([]int, error) {
	d, err := listDir(dir)
	return d.segments, err
}
