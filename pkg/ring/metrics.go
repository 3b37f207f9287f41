package ring

import (
	"github.com/prometheus/client_golang/prometheus"
)

var (
	membersDesc = prometheus.NewDesc("skald_ring_members",
		"Instances in the ring by state; UNHEALTHY counts those whose heartbeat is older than the timeout, whatever their state.",
		[]string{"name", "state"}, nil)
	tokensDesc = prometheus.NewDesc("skald_ring_tokens_total",
		"Tokens in the ring.", []string{"name"}, nil)
	oldestDesc = prometheus.NewDesc("skald_ring_oldest_member_timestamp",
		"Unix seconds of the oldest heartbeat among the ring's instances, by state.", []string{"name", "state"}, nil)
)

// ringCollector computes the ring's gauges when scraped, so UNHEALTHY is
// current even when the ring does not change.
type ringCollector struct{ r *Ring }

func (c *ringCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- membersDesc
	ch <- tokensDesc
	ch <- oldestDesc
}

func (c *ringCollector) Collect(ch chan<- prometheus.Metric) {
	s := c.r.state.Load()
	now := c.r.now()
	counts := map[string]float64{"ACTIVE": 0, "LEAVING": 0, "JOINING": 0, "UNHEALTHY": 0}
	oldest := map[string]int64{}
	for i := range s.instances {
		inst := &s.instances[i]
		state := inst.State.String()
		if !inst.IsHeartbeatHealthy(c.r.cfg.HeartbeatTimeout, now) {
			state = "UNHEALTHY"
		}
		counts[state]++
		if o, ok := oldest[inst.State.String()]; !ok || inst.Timestamp < o {
			oldest[inst.State.String()] = inst.Timestamp
		}
	}
	for state, n := range counts {
		ch <- prometheus.MustNewConstMetric(membersDesc, prometheus.GaugeValue, n, c.r.key, state)
	}
	for state, ts := range oldest {
		ch <- prometheus.MustNewConstMetric(oldestDesc, prometheus.GaugeValue, float64(ts)/1000, c.r.key, state)
	}
	ch <- prometheus.MustNewConstMetric(tokensDesc, prometheus.GaugeValue, float64(len(s.tokens)), c.r.key)
}
