package ingester

import (
	"bufio"
	"bytes"
	"os"
	"strconv"
	"strings"
)

// Sizing of the default -ingester.max-unflushed-bytes.
const (
	// 1/memoryShare of the process's memory may hold unflushed chunks. The
	// limit counts the chunks' estimated compressed size; the heap they take
	// is about 2-3 times that (head blocks, per-chunk buffers, the GC's
	// headroom: see docs/durability.md), and queries and caches need the
	// rest.
	memoryShare = 8
	// minAutoLimit and fallbackLimit bound the automatic limit.
	minAutoLimit  = 64 << 20
	fallbackLimit = 1 << 30
)

// autoMemoryLimit returns an eighth of the memory available to the process:
// its cgroup's limit if it has one, the machine's memory otherwise.
func autoMemoryLimit() int64 {
	mem, ok := cgroupMemoryLimit(readFile)
	if !ok {
		mem, ok = physicalMemory(readFile)
	}
	if !ok {
		return fallbackLimit
	}
	return max(mem/memoryShare, minAutoLimit)
}

func readFile(path string) ([]byte, error) { return os.ReadFile(path) }

// cgroupMemoryLimit reads the memory limit of the process's cgroup (v2, then
// v1). It reports false when there is no limit.
func cgroupMemoryLimit(read func(string) ([]byte, error)) (int64, bool) {
	for _, path := range []string{"/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"} {
		b, err := read(path)
		if err != nil {
			continue
		}
		s := strings.TrimSpace(string(b))
		if s == "max" {
			return 0, false
		}
		v, err := strconv.ParseInt(s, 10, 64)
		// cgroup v1 reports "no limit" as a huge number.
		if err != nil || v <= 0 || v >= 1<<60 {
			return 0, false
		}
		return v, true
	}
	return 0, false
}

// physicalMemory reads MemTotal from /proc/meminfo.
func physicalMemory(read func(string) ([]byte, error)) (int64, bool) {
	b, err := read("/proc/meminfo")
	if err != nil {
		return 0, false
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) >= 2 && f[0] == "MemTotal:" {
			kb, err := strconv.ParseInt(f[1], 10, 64)
			if err != nil || kb <= 0 {
				return 0, false
			}
			return kb << 10, true
		}
	}
	return 0, false
}
