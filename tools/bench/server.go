package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// server is a skald process the harness started.
type server struct {
	cmd     *exec.Cmd
	addr    string // http://127.0.0.1:port
	dataDir string
	logs    *lockedBuffer
	done    chan error
}

// lockedBuffer collects the server's output.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// buildSkald builds cmd/skald into dir and returns the binary's path.
func buildSkald(ctx context.Context, dir string) (string, error) {
	bin := filepath.Join(dir, "skald")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, "github.com/skald-logs/skald/cmd/skald")
	out, err := cmd.CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("build skald: %w\n%s", err, out)
	}
	return bin, nil
}

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// startServer runs bin on dataDir with the harness's flags and extra, and
// waits until /ready answers.
func startServer(ctx context.Context, bin, dataDir string, extra []string) (*server, error) {
	httpPort, err := freePort()
	if err != nil {
		return nil, err
	}
	grpcPort, err := freePort()
	if err != nil {
		return nil, err
	}
	args := append([]string{
		"-server.http-listen-address=127.0.0.1",
		"-server.http-listen-port=" + strconv.Itoa(httpPort),
		"-server.grpc-listen-address=127.0.0.1",
		"-server.grpc-listen-port=" + strconv.Itoa(grpcPort),
		"-common.path-prefix=" + dataDir,
		"-log.level=warn",
		// The push rate limit would otherwise decide the ingest rate.
		"-distributor.ingestion-rate-limit-mb=100000",
		"-distributor.ingestion-burst-size-mb=100000",
		// Queries after the flush read the store, not chunks the
		// ingester keeps for a while after flushing them.
		"-ingester.chunks-retain-period=0s",
	}, extra...)
	s := &server{
		cmd:     exec.Command(bin, args...),
		addr:    "http://127.0.0.1:" + strconv.Itoa(httpPort),
		dataDir: dataDir,
		logs:    &lockedBuffer{},
		done:    make(chan error, 1),
	}
	s.cmd.Stdout, s.cmd.Stderr = s.logs, s.logs
	if err := s.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start skald: %w", err)
	}
	go func() { s.done <- s.cmd.Wait() }()
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(s.addr + "/ready")
		if err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return s, nil
			}
		}
		if time.Now().After(deadline) {
			s.kill()
			return nil, fmt.Errorf("skald not ready after 30s\n%s", s.logs.String())
		}
		select {
		case err := <-s.done:
			s.done <- err
			return nil, fmt.Errorf("skald exited before it was ready: %v\n%s", err, s.logs.String())
		case <-ctx.Done():
			s.kill()
			return nil, ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func (s *server) pid() int { return s.cmd.Process.Pid }

// stop asks the server to shut down (it flushes) and waits for it.
func (s *server) stop() error {
	if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		return err
	}
	select {
	case err := <-s.done:
		s.done <- err
		if err != nil {
			return fmt.Errorf("skald exited with %v\n%s", err, s.logs.String())
		}
		return nil
	case <-time.After(2 * time.Minute):
		s.kill()
		return errors.New("skald did not stop within 2m of SIGTERM")
	}
}

// kill ends the server if it still runs.
func (s *server) kill() {
	select {
	case err := <-s.done:
		s.done <- err
		return
	default:
	}
	_ = s.cmd.Process.Kill()
	s.done <- <-s.done
}

// flush asks the ingester to flush every chunk to the store.
func (s *server) flush(ctx context.Context) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.addr+"/flush", nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("flush: %w", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("flush: %s: %s", resp.Status, strings.TrimSpace(string(body)))
	}
	return nil
}

// procStat is what /proc tells of a process.
type procStat struct {
	cpuSeconds float64 // user + system
	rss, hwm   int64   // resident set now and at its peak, bytes
}

// userHZ is the unit of the CPU times in /proc/<pid>/stat (USER_HZ, 100 on
// every Linux architecture Go supports).
const userHZ = 100

func readProcStat(pid int) (procStat, error) {
	var st procStat
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return st, err
	}
	// Fields after the command name, which ends at the last ')': state is
	// the first, utime the 12th, stime the 13th.
	i := bytes.LastIndexByte(stat, ')')
	if i < 0 {
		return st, fmt.Errorf("malformed /proc/%d/stat", pid)
	}
	f := strings.Fields(string(stat[i+1:]))
	if len(f) < 13 {
		return st, fmt.Errorf("malformed /proc/%d/stat", pid)
	}
	utime, err1 := strconv.ParseInt(f[11], 10, 64)
	stime, err2 := strconv.ParseInt(f[12], 10, 64)
	if err := errors.Join(err1, err2); err != nil {
		return st, fmt.Errorf("/proc/%d/stat: %w", pid, err)
	}
	st.cpuSeconds = float64(utime+stime) / userHZ

	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return st, err
	}
	for _, line := range strings.Split(string(status), "\n") {
		name, value, ok := strings.Cut(line, ":")
		if !ok || (name != "VmRSS" && name != "VmHWM") {
			continue
		}
		kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(value), " kB"), 10, 64)
		if err != nil {
			return st, fmt.Errorf("/proc/%d/status %s: %w", pid, name, err)
		}
		if name == "VmRSS" {
			st.rss = kb << 10
		} else {
			st.hwm = kb << 10
		}
	}
	return st, nil
}

// diskUsage is the size of the object store, by kind of object.
type diskUsage struct {
	ChunkBytes, IndexBytes, OtherBytes int64
	ChunkObjects, IndexObjects         int
	// DataDirBytes is everything under the data directory (objects, WAL,
	// anything else).
	DataDirBytes int64
}

// Objects is the size of every object.
func (d diskUsage) Objects() int64 { return d.ChunkBytes + d.IndexBytes + d.OtherBytes }

func measureDisk(dataDir string) (diskUsage, error) {
	var d diskUsage
	objects := filepath.Join(dataDir, "objects")
	err := filepath.WalkDir(dataDir, func(p string, e fs.DirEntry, err error) error {
		if err != nil || !e.Type().IsRegular() {
			return err
		}
		info, err := e.Info()
		if err != nil {
			return err
		}
		size := info.Size()
		d.DataDirBytes += size
		rel, err := filepath.Rel(objects, p)
		if err != nil || strings.HasPrefix(rel, "..") {
			return nil
		}
		switch {
		case strings.HasPrefix(rel, "chunks"+string(filepath.Separator)):
			d.ChunkBytes += size
			d.ChunkObjects++
		case strings.HasPrefix(rel, "index"+string(filepath.Separator)):
			d.IndexBytes += size
			d.IndexObjects++
		default:
			d.OtherBytes += size
		}
		return nil
	})
	return d, err
}
