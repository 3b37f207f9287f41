package memberlist

import "github.com/prometheus/client_golang/prometheus"

type metrics struct {
	members           prometheus.GaugeFunc
	received          prometheus.Counter
	receivedBytes     prometheus.Counter
	invalid           prometheus.Counter
	changes           prometheus.Counter
	broadcasts        prometheus.Counter
	reliableSent      prometheus.Counter
	reliableDropped   prometheus.Counter
	pushPullSent      prometheus.Counter
	tombstonesRemoved prometheus.Counter
}

func newMetrics(kv *KV) *metrics {
	counter := func(name, help string) prometheus.Counter {
		return prometheus.NewCounter(prometheus.CounterOpts{Name: "skald_memberlist_client_" + name, Help: help})
	}
	return &metrics{
		members: prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "skald_memberlist_client_cluster_members_count", Help: "Live members of the memberlist cluster, this one included.",
		}, func() float64 { return float64(kv.NumMembers()) }),
		received:          counter("messages_received_total", "Gossip messages received."),
		receivedBytes:     counter("messages_received_bytes_total", "Bytes of gossip messages received."),
		invalid:           counter("messages_invalid_total", "Gossip messages and states that could not be decoded."),
		changes:           counter("kv_changes_total", "Updates (local or received) that changed a ring."),
		broadcasts:        counter("broadcasts_queued_total", "Ring entries queued for UDP gossip."),
		reliableSent:      counter("reliable_messages_sent_total", "Ring entries too large for UDP, sent over TCP."),
		reliableDropped:   counter("reliable_messages_dropped_total", "Ring entries too large for UDP dropped because the TCP queue was full."),
		pushPullSent:      counter("state_pushes_total", "Full states sent in push/pull exchanges."),
		tombstonesRemoved: counter("tombstones_removed_total", "Tombstones of instances that left, deleted after left-ingesters-timeout."),
	}
}

func (m *metrics) register(reg prometheus.Registerer) error {
	for _, c := range []prometheus.Collector{
		m.members, m.received, m.receivedBytes, m.invalid, m.changes, m.broadcasts,
		m.reliableSent, m.reliableDropped, m.pushPullSent, m.tombstonesRemoved,
	} {
		if err := reg.Register(c); err != nil {
			return err
		}
	}
	return nil
}
