package memberlist

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	ml "github.com/hashicorp/memberlist"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/skald-logs/skald/pkg/ring"
)

const (
	stateNew int32 = iota
	stateRunning
	stateStopped
)

// reliableQueueSize bounds the messages waiting to go over TCP; beyond it
// they are dropped and the periodic push/pull delivers their news.
const reliableQueueSize = 256

// KV is a ring.KV whose values are gossiped between the members of a
// memberlist cluster. Create it with New, Start it before use and Stop it
// when done. It is safe for concurrent use.
type KV struct {
	cfg    Config
	logger *slog.Logger
	m      *metrics
	// tune, set by tests before Start, adjusts memberlist's configuration.
	tune func(*ml.Config)

	mu       sync.Mutex
	values   map[string]*ring.Desc
	watchers map[string]map[chan struct{}]struct{}

	list     atomic.Pointer[ml.Memberlist]
	queue    *ml.TransmitLimitedQueue
	maxUDP   int // largest message sent as a UDP broadcast
	reliable chan []byte

	state  atomic.Int32
	stopc  chan struct{}
	killed atomic.Bool // stopped without leaving (tests: a crashed process)
	wg     sync.WaitGroup
	joined atomic.Bool
}

var _ ring.KV = (*KV)(nil)

// New returns a KV that will gossip with cfg once started.
func New(cfg Config, logger *slog.Logger, reg prometheus.Registerer) (*KV, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	kv := &KV{
		cfg:      cfg,
		logger:   logger,
		values:   map[string]*ring.Desc{},
		watchers: map[string]map[chan struct{}]struct{}{},
		reliable: make(chan []byte, reliableQueueSize),
		stopc:    make(chan struct{}),
	}
	kv.queue = &ml.TransmitLimitedQueue{NumNodes: kv.NumMembers, RetransmitMult: cfg.RetransmitMult}
	kv.m = newMetrics(kv)
	if reg != nil {
		if err := kv.m.register(reg); err != nil {
			return nil, fmt.Errorf("memberlist metrics: %w", err)
		}
	}
	return kv, nil
}

// Start listens for gossip and starts joining the configured members in the
// background (retrying until one answers). It fails only when it cannot
// listen.
func (kv *KV) Start(ctx context.Context) error {
	if !kv.state.CompareAndSwap(stateNew, stateRunning) {
		return errors.New("memberlist kv: already started")
	}
	c := ml.DefaultLANConfig()
	c.Name = kv.nodeName()
	if len(kv.cfg.BindAddr) == 1 {
		c.BindAddr = kv.cfg.BindAddr[0]
	}
	c.BindPort = kv.cfg.BindPort
	c.AdvertiseAddr = kv.cfg.AdvertiseAddr
	c.AdvertisePort = kv.cfg.AdvertisePort
	if c.AdvertisePort == 0 {
		c.AdvertisePort = kv.cfg.BindPort
	}
	c.Label = kv.cfg.ClusterLabel
	c.GossipInterval = kv.cfg.GossipInterval
	c.GossipNodes = kv.cfg.GossipNodes
	c.PushPullInterval = kv.cfg.PushPullInterval
	c.RetransmitMult = kv.cfg.RetransmitMult
	c.Delegate = (*delegate)(kv)
	c.Events = (*events)(kv)
	c.LogOutput = &logWriter{logger: kv.logger}
	c.Logger = nil
	if kv.tune != nil {
		kv.tune(c)
	}
	// Room for memberlist's framing (compound header, label, per message
	// overhead) in a packet of UDPBufferSize bytes.
	kv.maxUDP = c.UDPBufferSize - 200

	list, err := ml.Create(c)
	if err != nil {
		kv.state.Store(stateStopped)
		return fmt.Errorf("memberlist: %w", err)
	}
	kv.list.Store(list)
	kv.logger.Info("memberlist listening", "node", c.Name, "addr", list.LocalNode().Address())

	kv.wg.Add(2)
	go kv.sendReliableLoop()
	go kv.tombstoneLoop()
	if len(kv.cfg.JoinMembers) > 0 {
		kv.wg.Add(1)
		go kv.joinLoop()
	}
	return nil
}

func (kv *KV) nodeName() string {
	name := kv.cfg.NodeName
	if name == "" {
		name, _ = os.Hostname()
	}
	if kv.cfg.RandomizeNodeName {
		var b [4]byte
		_, _ = rand.Read(b[:])
		name += "-" + hex.EncodeToString(b[:])
	}
	return name
}

// Stop leaves the cluster gracefully: it sends what is still queued (bounded
// by LeaveTimeout), tells the other members it leaves, and closes the
// listeners. Watchers return. Calls after Stop fail with ring.ErrKVStopped.
func (kv *KV) Stop() error {
	if !kv.state.CompareAndSwap(stateRunning, stateStopped) {
		return nil
	}
	close(kv.stopc)
	kv.wg.Wait() // the reliable sender drains its queue first
	list := kv.list.Load()
	deadline := time.Now().Add(kv.cfg.LeaveTimeout)
	for kv.queue.NumQueued() > 0 && list.NumMembers() > 1 && time.Now().Before(deadline) {
		time.Sleep(kv.cfg.GossipInterval)
	}
	if n := kv.queue.NumQueued(); n > 0 {
		kv.logger.Warn("leaving with broadcasts not sent", "queued", n)
	}
	var errs []error
	if err := list.Leave(kv.cfg.LeaveTimeout); err != nil {
		errs = append(errs, fmt.Errorf("memberlist leave: %w", err))
	}
	if err := list.Shutdown(); err != nil {
		errs = append(errs, fmt.Errorf("memberlist shutdown: %w", err))
	}
	kv.logger.Info("memberlist left the cluster")
	return errors.Join(errs...)
}

// kill stops the KV the way a crash would: no last broadcasts, no leave.
func (kv *KV) kill() {
	if !kv.state.CompareAndSwap(stateRunning, stateStopped) {
		return
	}
	kv.killed.Store(true)
	close(kv.stopc)
	kv.wg.Wait()
	_ = kv.list.Load().Shutdown()
}

// NumMembers is the number of live members of the cluster, this one included.
func (kv *KV) NumMembers() int {
	if list := kv.list.Load(); list != nil {
		return list.NumMembers()
	}
	return 1
}

// Members returns the names of the live members.
func (kv *KV) Members() []string {
	list := kv.list.Load()
	if list == nil {
		return nil
	}
	nodes := list.Members()
	out := make([]string, len(nodes))
	for i, n := range nodes {
		out[i] = n.Name
	}
	return out
}

// Addr is the advertised gossip address, host:port, once started.
func (kv *KV) Addr() string {
	if list := kv.list.Load(); list != nil {
		return list.LocalNode().Address()
	}
	return ""
}

// Joined reports whether a join succeeded (always false without
// JoinMembers).
func (kv *KV) Joined() bool { return kv.joined.Load() }

func (kv *KV) running() error {
	if kv.state.Load() != stateRunning {
		return ring.ErrKVStopped
	}
	return nil
}

// Get implements ring.KV.
func (kv *KV) Get(ctx context.Context, key string) (*ring.Desc, error) {
	if err := kv.running(); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	kv.mu.Lock()
	defer kv.mu.Unlock()
	return kv.getLocked(key), nil
}

func (kv *KV) getLocked(key string) *ring.Desc {
	if d, ok := kv.values[key]; ok {
		return d.Clone()
	}
	return ring.NewDesc()
}

// CAS implements ring.KV: the change is merged locally and its changed
// entries are broadcast.
func (kv *KV) CAS(ctx context.Context, key string, f func(in *ring.Desc) (*ring.Desc, error)) error {
	if err := kv.running(); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	kv.mu.Lock()
	in := kv.getLocked(key)
	kv.mu.Unlock()
	out, err := f(in)
	if err != nil || out == nil {
		return err
	}
	kv.merge(key, out, true)
	return nil
}

// merge merges d into key's value, wakes the watchers and, with broadcast,
// sends the changed entries on. It reports whether anything changed.
func (kv *KV) merge(key string, d *ring.Desc, broadcast bool) bool {
	kv.mu.Lock()
	cur, ok := kv.values[key]
	if !ok {
		cur = ring.NewDesc()
		kv.values[key] = cur
	}
	delta := cur.MergeDelta(d)
	if delta != nil {
		for ch := range kv.watchers[key] {
			select {
			case ch <- struct{}{}:
			default:
			}
		}
	}
	kv.mu.Unlock()
	if delta == nil {
		return false
	}
	kv.m.changes.Inc()
	if broadcast {
		kv.broadcast(key, delta)
	}
	return true
}

// broadcast queues one message per changed instance: over UDP gossip when it
// fits a packet, over TCP to a few members otherwise.
func (kv *KV) broadcast(key string, delta *ring.Desc) {
	for id, inst := range delta.Instances {
		one := &ring.Desc{Instances: map[string]ring.InstanceDesc{id: inst}}
		msg, err := appendMessage(nil, key, one)
		if err != nil {
			kv.logger.Error("encode ring entry", "key", key, "id", id, "err", err)
			continue
		}
		if len(msg) <= kv.maxUDP {
			kv.queue.QueueBroadcast(&broadcast{name: key + "\x00" + id, msg: msg})
			kv.m.broadcasts.Inc()
			continue
		}
		select {
		case kv.reliable <- msg:
		default:
			kv.m.reliableDropped.Inc()
		}
	}
}

// Watch implements ring.KV. It also returns when the KV stops.
func (kv *KV) Watch(ctx context.Context, key string, f func(*ring.Desc) bool) {
	ch := make(chan struct{}, 1)
	kv.mu.Lock()
	if kv.watchers[key] == nil {
		kv.watchers[key] = map[chan struct{}]struct{}{}
	}
	kv.watchers[key][ch] = struct{}{}
	kv.mu.Unlock()
	defer func() {
		kv.mu.Lock()
		delete(kv.watchers[key], ch)
		kv.mu.Unlock()
	}()
	for ctx.Err() == nil && kv.running() == nil {
		kv.mu.Lock()
		d := kv.getLocked(key)
		kv.mu.Unlock()
		if !f(d) {
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-kv.stopc:
			return
		case <-ch:
		}
	}
}

// joinLoop joins the configured members, retrying with backoff until one
// answers or the KV stops.
func (kv *KV) joinLoop() {
	defer kv.wg.Done()
	backoff := kv.cfg.MinJoinBackoff
	for attempt := 1; ; attempt++ {
		addrs := resolveMembers(kv.cfg.JoinMembers, kv.logger)
		n, err := kv.list.Load().Join(addrs)
		if n > 0 {
			kv.joined.Store(true)
			kv.logger.Info("joined memberlist cluster", "reached", n, "members", kv.NumMembers())
			return
		}
		kv.logger.Warn("joining memberlist cluster failed; retrying", "attempt", attempt, "members", addrs, "err", err, "backoff", backoff)
		select {
		case <-kv.stopc:
			return
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, kv.cfg.MaxJoinBackoff)
	}
}

// resolveMembers expands dnssrv+ names with SRV lookups and strips dns+
// (memberlist resolves host names to all their addresses itself).
func resolveMembers(members []string, logger *slog.Logger) []string {
	out := make([]string, 0, len(members))
	for _, m := range members {
		switch {
		case strings.HasPrefix(m, "dnssrv+"):
			_, srvs, err := net.LookupSRV("", "", strings.TrimPrefix(m, "dnssrv+"))
			if err != nil {
				logger.Warn("SRV lookup of memberlist join address failed", "name", m, "err", err)
				continue
			}
			for _, s := range srvs {
				out = append(out, net.JoinHostPort(strings.TrimSuffix(s.Target, "."), strconv.Itoa(int(s.Port))))
			}
		case strings.HasPrefix(m, "dns+"):
			out = append(out, strings.TrimPrefix(m, "dns+"))
		default:
			out = append(out, m)
		}
	}
	return out
}

// sendReliableLoop sends the messages too large for UDP over TCP to up to
// GossipNodes random members. On a graceful stop it sends what is queued
// before returning.
func (kv *KV) sendReliableLoop() {
	defer kv.wg.Done()
	for {
		select {
		case msg := <-kv.reliable:
			kv.sendReliable(msg)
		case <-kv.stopc:
			for !kv.killed.Load() {
				select {
				case msg := <-kv.reliable:
					kv.sendReliable(msg)
				default:
					return
				}
			}
			return
		}
	}
}

func (kv *KV) sendReliable(msg []byte) {
	list := kv.list.Load()
	self := list.LocalNode().Name
	sent := 0
	for _, n := range shuffledMembers(list) {
		if n.Name == self {
			continue
		}
		if err := list.SendReliable(n, msg); err != nil {
			kv.logger.Debug("reliable send failed", "to", n.Name, "err", err)
			continue
		}
		kv.m.reliableSent.Inc()
		if sent++; sent == kv.cfg.GossipNodes {
			return
		}
	}
}

// tombstoneLoop deletes tombstones older than LeftIngestersTimeout.
func (kv *KV) tombstoneLoop() {
	defer kv.wg.Done()
	t := time.NewTicker(max(kv.cfg.LeftIngestersTimeout/4, 100*time.Millisecond))
	defer t.Stop()
	for {
		select {
		case <-kv.stopc:
			return
		case <-t.C:
			kv.removeTombstones(time.Now().Add(-kv.cfg.LeftIngestersTimeout))
		}
	}
}

func (kv *KV) removeTombstones(limit time.Time) {
	kv.mu.Lock()
	defer kv.mu.Unlock()
	for key, d := range kv.values {
		if n := d.RemoveTombstones(limit); n > 0 {
			kv.m.tombstonesRemoved.Add(float64(n))
			kv.logger.Debug("removed tombstones", "key", key, "count", n)
		}
	}
}
