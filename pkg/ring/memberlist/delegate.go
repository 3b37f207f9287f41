package memberlist

import (
	"bytes"
	"context"
	"log/slog"
	"math/rand/v2"

	ml "github.com/hashicorp/memberlist"
)

// delegate receives memberlist's callbacks (memberlist.Delegate). They run
// on memberlist's goroutines and must not block: each decodes, merges under
// the KV's lock and queues broadcasts.
type delegate KV

func (d *delegate) kv() *KV { return (*KV)(d) }

// NodeMeta implements memberlist.Delegate; members carry no metadata.
func (d *delegate) NodeMeta(int) []byte { return nil }

// NotifyMsg receives a broadcast or a TCP message: one key's entries. What
// changes the local value is broadcast on.
func (d *delegate) NotifyMsg(msg []byte) {
	kv := d.kv()
	kv.m.received.Inc()
	kv.m.receivedBytes.Add(float64(len(msg)))
	key, desc, err := decodeMessage(msg)
	if err != nil {
		kv.m.invalid.Inc()
		kv.logger.Warn("dropping invalid gossip message", "err", err, "bytes", len(msg))
		return
	}
	if kv.running() != nil {
		return
	}
	kv.merge(key, desc, true)
}

// GetBroadcasts implements memberlist.Delegate.
func (d *delegate) GetBroadcasts(overhead, limit int) [][]byte {
	return d.kv().queue.GetBroadcasts(overhead, limit)
}

// LocalState returns the full state for a push/pull exchange.
func (d *delegate) LocalState(bool) []byte {
	kv := d.kv()
	kv.mu.Lock()
	b, err := encodeState(kv.values)
	kv.mu.Unlock()
	if err != nil {
		kv.logger.Error("encode ring state", "err", err)
		return nil
	}
	kv.m.pushPullSent.Inc()
	return b
}

// MergeRemoteState merges the full state of another member. Changes are not
// broadcast: every member exchanges state periodically anyway.
func (d *delegate) MergeRemoteState(buf []byte, join bool) {
	kv := d.kv()
	if len(buf) == 0 {
		return
	}
	values, err := decodeState(buf)
	if err != nil {
		kv.m.invalid.Inc()
		kv.logger.Warn("dropping invalid gossip state", "err", err, "bytes", len(buf), "join", join)
		return
	}
	if kv.running() != nil {
		return
	}
	for key, desc := range values {
		kv.merge(key, desc, false)
	}
}

// events logs membership changes (memberlist.EventDelegate).
type events KV

func (e *events) NotifyJoin(n *ml.Node) {
	(*KV)(e).logger.Debug("memberlist member joined", "node", n.Name, "addr", n.Address())
}

func (e *events) NotifyLeave(n *ml.Node) {
	(*KV)(e).logger.Debug("memberlist member left", "node", n.Name, "addr", n.Address())
}

func (e *events) NotifyUpdate(*ml.Node) {}

// broadcast is one queued message, named by key and instance so that a newer
// entry of the instance replaces an older one still in the queue.
type broadcast struct {
	name string
	msg  []byte
}

func (b *broadcast) Invalidates(other ml.Broadcast) bool {
	nb, ok := other.(ml.NamedBroadcast)
	return ok && nb.Name() == b.name
}

func (b *broadcast) Name() string    { return b.name }
func (b *broadcast) Message() []byte { return b.msg }
func (b *broadcast) Finished()       {}

// shuffledMembers returns the live members in random order.
func shuffledMembers(list *ml.Memberlist) []*ml.Node {
	nodes := list.Members()
	rand.Shuffle(len(nodes), func(i, j int) { nodes[i], nodes[j] = nodes[j], nodes[i] })
	return nodes
}

// logWriter turns memberlist's log lines ("2025/01/01 00:00:00 [WARN]
// memberlist: ...") into slog records at the matching level.
type logWriter struct{ logger *slog.Logger }

func (w *logWriter) Write(p []byte) (int, error) {
	line := bytes.TrimSpace(p)
	level := slog.LevelInfo
	for _, l := range []struct {
		tag   string
		level slog.Level
	}{{"[DEBUG]", slog.LevelDebug}, {"[INFO]", slog.LevelInfo}, {"[WARN]", slog.LevelWarn}, {"[ERR]", slog.LevelError}, {"[ERROR]", slog.LevelError}} {
		if i := bytes.Index(line, []byte(l.tag)); i >= 0 {
			level = l.level
			line = bytes.TrimSpace(line[i+len(l.tag):])
			break
		}
	}
	w.logger.Log(context.Background(), level, string(line))
	return len(p), nil
}
