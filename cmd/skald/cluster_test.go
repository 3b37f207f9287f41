package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/skald-logs/skald/pkg/objstore/s3"
	"github.com/skald-logs/skald/pkg/objstore/s3/s3test"
)

// The cluster test runs a real cluster on 127.0.0.1: versitygw as S3, three
// ingesters, a distributor and a querier, each its own skald process, joined
// by memberlist. It pushes over HTTP, kills an ingester with SIGKILL, and
// checks that every acknowledged line is returned exactly once throughout.

// node is one cluster member with the ports it keeps across restarts.
type node struct {
	name             string
	dir              string
	grpcPort, mlPort int
	args             []string
	p                *proc
}

func (n *node) start(t *testing.T) {
	t.Helper()
	n.p = start(t, n.dir, n.args...)
}

// cluster is the running cluster.
type cluster struct {
	t         *testing.T
	s3        s3.Config
	ingesters []*node
	dist      *node
	querier   *node
}

func newNode(t *testing.T, name, target string, s3cfg s3.Config, join []int, extra ...string) *node {
	n := &node{name: name, dir: t.TempDir(), grpcPort: freePort(t), mlPort: freePort(t)}
	n.args = []string{
		"-target=" + target,
		"-storage.backend=s3",
		"-s3.endpoint=" + s3cfg.Endpoint,
		"-s3.bucket=" + s3cfg.Bucket,
		"-s3.region=" + s3cfg.Region,
		"-s3.access-key-id=" + s3cfg.AccessKeyID,
		"-s3.secret-access-key=" + s3cfg.SecretAccessKey,
		"-s3.force-path-style=true",
		"-s3.insecure=" + strconv.FormatBool(s3cfg.Insecure),
		"-server.grpc-listen-address=127.0.0.1",
		"-server.grpc-listen-port=" + strconv.Itoa(n.grpcPort),
		"-memberlist.bind-addr=127.0.0.1",
		"-memberlist.advertise-addr=127.0.0.1",
		"-memberlist.bind-port=" + strconv.Itoa(n.mlPort),
		"-memberlist.nodename=" + name,
		"-ring.store=memberlist",
		"-ring.heartbeat-period=1s",
		"-distributor.replication-factor=3",
		"-ingester.lifecycler.id=" + name,
		"-ingester.lifecycler.addr=127.0.0.1",
		"-store.index-refresh-period=1s",
		"-ingester.flush-check-period=1s",
		"-ingester.client.connect-backoff-base-delay=100ms",
		"-ingester.client.connect-backoff-max-delay=500ms",
	}
	var peers []string
	for _, p := range join {
		peers = append(peers, "127.0.0.1:"+strconv.Itoa(p))
	}
	if len(peers) > 0 {
		n.args = append(n.args, "-memberlist.join="+strings.Join(peers, ","))
	}
	n.args = append(n.args, extra...)
	return n
}

// ringState returns the state of every instance as a member's /ring shows
// it, by ID.
func ringState(t *testing.T, p *proc) map[string]string {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, p.addr+"/ring", nil)
	req.Header.Set("Accept", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct {
		Shards []struct {
			ID    string `json:"id"`
			State string `json:"state"`
		} `json:"shards"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatalf("/ring: %v", err)
	}
	out := map[string]string{}
	for _, s := range body.Shards {
		out[s.ID] = s.State
	}
	return out
}

// waitFor polls cond every 50ms until it holds, failing after limit.
func waitFor(t *testing.T, what string, limit time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", limit, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// allActive waits until p's ring shows every named ingester ACTIVE.
func allActive(t *testing.T, p *proc, ids ...string) {
	t.Helper()
	waitFor(t, "ingesters ACTIVE in the ring of "+p.addr, 30*time.Second, func() bool {
		st := ringState(t, p)
		for _, id := range ids {
			if st[id] != "ACTIVE" {
				return false
			}
		}
		return true
	})
}

// pushTimed pushes lines to the distributor and returns how long it took.
func pushTimed(t *testing.T, p *proc, lines []line) time.Duration {
	t.Helper()
	start := time.Now()
	pushProto(t, p, lines, map[string]string{"trace_id": "abc"})
	return time.Since(start)
}

// batches returns n batches of lines over streams, all after base.
func batches(n, perStream int, base int64, tag string) [][]line {
	out := make([][]line, n)
	for i := range out {
		var b []line
		for s := range 5 {
			b = append(b, makeLines(fmt.Sprintf("svc-%d", s), base+int64(i*perStream)*int64(time.Millisecond), perStream, fmt.Sprintf("%s batch=%d", tag, i))...)
		}
		out[i] = b
	}
	return out
}

func percentile(ds []time.Duration, q float64) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[min(len(s)-1, int(q*float64(len(s))))]
}

func metricValue(t *testing.T, p *proc, name string) float64 {
	t.Helper()
	code, body := p.get("/metrics", nil)
	if code != http.StatusOK {
		t.Fatalf("/metrics: %d", code)
	}
	var sum float64
	for _, l := range strings.Split(string(body), "\n") {
		if strings.HasPrefix(l, name+" ") || strings.HasPrefix(l, name+"{") {
			f := strings.Fields(l)
			v, err := strconv.ParseFloat(f[len(f)-1], 64)
			if err == nil {
				sum += v
			}
		}
	}
	return sum
}

func countObjects(t *testing.T, cfg s3.Config, prefix string) int {
	t.Helper()
	b, err := s3.New(cfg, slog.New(slog.DiscardHandler), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	n := 0
	if err := b.List(context.Background(), prefix, func(string) error { n++; return nil }); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestCluster(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a six-process cluster")
	}
	began := time.Now()
	s3cfg := s3test.Start(t)
	c := &cluster{t: t, s3: s3cfg}
	seed := newNode(t, "ingester-0", "ingester", s3cfg, nil)
	c.ingesters = []*node{seed}
	for i := 1; i < 3; i++ {
		c.ingesters = append(c.ingesters, newNode(t, fmt.Sprint("ingester-", i), "ingester", s3cfg, []int{seed.mlPort}))
	}
	c.dist = newNode(t, "distributor", "distributor", s3cfg, []int{seed.mlPort})
	c.querier = newNode(t, "querier", "querier", s3cfg, []int{seed.mlPort})
	for _, n := range c.ingesters {
		n.start(t)
	}
	c.dist.start(t)
	c.querier.start(t)
	ids := []string{"ingester-0", "ingester-1", "ingester-2"}
	allActive(t, c.dist.p, ids...)
	allActive(t, c.querier.p, ids...)
	t.Logf("cluster up in %s", time.Since(began).Round(time.Millisecond))

	base := time.Now().Add(-10 * time.Minute).UnixNano()
	from, to := base-int64(time.Hour), time.Now().Add(time.Hour).UnixNano()
	var acked []line
	var queryTimes []string
	query := func(what string) {
		t.Helper()
		began := time.Now()
		sameLines(t, what+", forward", queryAll(t, c.querier.p, `{source="proto"}`, from, to, "forward"), acked)
		took := time.Since(began)
		sameLines(t, what+", backward", queryAll(t, c.querier.p, `{source="proto"}`, from, to, "backward"), acked)
		queryTimes = append(queryTimes, fmt.Sprintf("%s: %d lines in %s", what, len(acked), took.Round(100*time.Microsecond)))
	}

	// All up.
	var allUp []time.Duration
	for _, b := range batches(20, 10, base, "up") {
		allUp = append(allUp, pushTimed(t, c.dist.p, b))
		acked = append(acked, b...)
	}
	query("all ingesters up")

	// A live tail through the querier follows the three ingesters: an entry
	// pushed through the distributor comes from all three replicas, and
	// arrives once, even when its timestamp is a minute old.
	tail := dialTail(t, c.querier.p, url.Values{"query": {`{job="tail-cluster"}`}})
	tailed := makeLines("tail-cluster", time.Now().Add(-time.Minute).UnixNano(), 1, "a minute old")
	pushJSON(t, c.dist.p, tailed, false)
	tail.expect(t, "cluster tail", tailed)
	everyReplica := func() {
		t.Helper()
		waitFor(t, "every push to reach every replica", 10*time.Second, func() bool {
			return metricValue(t, c.dist.p, "skald_distributor_ingester_appends_total") ==
				metricValue(t, c.dist.p, "skald_distributor_replication_duration_seconds_count")*3
		})
	}
	// Once every replica has sent its copy, the next entry is the next one
	// pushed: no copy came.
	everyReplica()
	sentinel := makeLines("tail-cluster", time.Now().UnixNano(), 1, "sentinel")
	pushJSON(t, c.dist.p, sentinel, false)
	tail.expect(t, "cluster tail, after every replica sent it", sentinel)

	// Replicas that received the same pushes flush byte-identical chunks,
	// which share one content-addressed object: flush all three once every
	// replica has every push, and count the objects.
	everyReplica()
	for _, n := range c.ingesters {
		if code, body := n.p.do(http.MethodPost, "/flush", "", "", nil); code != http.StatusNoContent {
			t.Fatalf("flush %s: %d %s", n.name, code, body)
		}
	}
	replicaChunks := countObjects(t, s3cfg, "chunks/")
	if replicaChunks < 5 || replicaChunks > 15 {
		t.Fatalf("%d chunk objects for 5 streams on 3 replicas", replicaChunks)
	}
	query("all ingesters up, flushed")

	// One ingester killed: pushes still reach a quorum, queries still see
	// every acknowledged line once.
	victim := c.ingesters[2]
	if err := victim.p.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	<-victim.p.done
	var oneDown []time.Duration
	for _, b := range batches(20, 10, base+int64(time.Minute), "down") {
		oneDown = append(oneDown, pushTimed(t, c.dist.p, b))
		acked = append(acked, b...)
	}
	query("one ingester killed")
	// The tail goes on with the two ingesters left.
	whileDown := makeLines("tail-cluster", time.Now().UnixNano(), 3, "one ingester down")
	pushJSON(t, c.dist.p, whileDown, false)
	tail.expect(t, "cluster tail, one ingester killed", whileDown)

	// Restart it: it replays its WAL, takes its tokens back and serves.
	victim.start(t)
	allActive(t, c.dist.p, ids...)
	allActive(t, c.querier.p, ids...)
	// Push until the restarted ingester takes pushes again (the
	// distributor reconnects after its backoff).
	before := metricValue(t, victim.p, "skald_ingester_lines_appended_total")
	back := batches(200, 10, base+2*int64(time.Minute), "back")
	served := false
	for i := 0; i < len(back) && !served; i++ {
		pushTimed(t, c.dist.p, back[i])
		acked = append(acked, back[i]...)
		waitFor(t, "the push to reach every replica", 10*time.Second, func() bool {
			return metricValue(t, c.dist.p, "skald_distributor_ingester_appends_total") ==
				metricValue(t, c.dist.p, "skald_distributor_replication_duration_seconds_count")*3
		})
		served = metricValue(t, victim.p, "skald_ingester_lines_appended_total") > before
		if !served {
			time.Sleep(100 * time.Millisecond)
		}
	}
	if !served {
		t.Fatal("the restarted ingester took no push")
	}
	query("after the restart")

	// Flush every ingester: the store now answers too, and the merge must
	// still return each line once.
	for _, n := range c.ingesters {
		if code, body := n.p.do(http.MethodPost, "/flush", "", "", nil); code != http.StatusNoContent {
			t.Fatalf("flush %s: %d %s", n.name, code, body)
		}
	}
	chunks := countObjects(t, s3cfg, "chunks/") - replicaChunks
	query("after flushing")

	// Loki's POST /ingester/shutdown: the ingester flushes, leaves the ring
	// and exits; the others drop their connections to it.
	leaver := c.ingesters[1].p
	if code, body := leaver.do(http.MethodPost, "/ingester/shutdown", "", "", nil); code != http.StatusNoContent {
		t.Fatalf("/ingester/shutdown: %d %s", code, body)
	}
	select {
	case err := <-leaver.done:
		if err != nil {
			t.Fatalf("ingester-1 exited with %v after /ingester/shutdown", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("ingester-1 still running 30s after /ingester/shutdown")
	}
	waitFor(t, "ingester-1 gone from the ring", 30*time.Second, func() bool {
		_, ok := ringState(t, c.querier.p)["ingester-1"]
		return !ok
	})
	waitFor(t, "the querier to close its client of ingester-1", 10*time.Second, func() bool {
		return metricValue(t, c.querier.p, "skald_ingester_clients") == 2
	})
	query("after ingester-1 left")

	// Everything else stops cleanly: SIGTERM, exit status 0.
	for _, p := range []*proc{c.dist.p, c.querier.p, c.ingesters[0].p, c.ingesters[2].p} {
		p.stop()
	}

	t.Logf("push latency, 5 streams x 10 lines per push: all up p50 %s p99 %s; one ingester killed p50 %s p99 %s",
		percentile(allUp, 0.5).Round(10*time.Microsecond), percentile(allUp, 0.99).Round(10*time.Microsecond),
		percentile(oneDown, 0.5).Round(10*time.Microsecond), percentile(oneDown, 0.99).Round(10*time.Microsecond))
	t.Logf("queries returned every acknowledged line exactly once in every phase (forward query time):\n  %s", strings.Join(queryTimes, "\n  "))
	t.Logf("chunk objects in S3 for 5 streams on 3 replicas: %d after the first flush (identical replicas; one ingester alone writes 5), %d more after the second (ingester-2 missed the pushes made while it was down)", replicaChunks, chunks)
	t.Logf("cluster test took %s", time.Since(began).Round(time.Millisecond))
}
