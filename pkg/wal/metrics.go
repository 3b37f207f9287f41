package wal

import "github.com/prometheus/client_golang/prometheus"

type metrics struct {
	records        prometheus.Counter
	bytes          prometheus.Counter
	fsyncs         prometheus.Counter
	fsyncDuration  prometheus.Histogram
	writeFailures  prometheus.Counter
	segment        prometheus.Gauge
	corruptions    *prometheus.CounterVec
	corruptBytes   prometheus.Counter
	replayDuration prometheus.Gauge
	replayRecords  prometheus.Counter
	checkpoints    prometheus.Counter
	checkpointFail prometheus.Counter
	checkpointDur  prometheus.Histogram
	checkpointSize prometheus.Gauge
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		records: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "skald_ingester_wal_records_logged_total", Help: "Records written to the WAL."}),
		bytes: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "skald_ingester_wal_logged_bytes_total", Help: "Bytes written to WAL segments, framing included."}),
		fsyncs: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "skald_ingester_wal_fsyncs_total", Help: "fsync calls on WAL segments and checkpoints."}),
		fsyncDuration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "skald_ingester_wal_fsync_duration_seconds", Help: "Duration of fsync calls on WAL segments.",
			Buckets: prometheus.ExponentialBuckets(0.0001, 4, 8)}),
		writeFailures: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "skald_ingester_wal_write_failures_total", Help: "Failed writes or fsyncs of WAL segments; the records were not acknowledged."}),
		segment: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "skald_ingester_wal_segment_current", Help: "Index of the WAL segment being written."}),
		corruptions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "skald_ingester_wal_corruptions_total", Help: "Damage found on replay: torn or corrupt tails, corrupt ranges skipped, undecodable records."},
			[]string{"kind"}),
		corruptBytes: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "skald_ingester_wal_corrupt_bytes_total", Help: "Bytes of WAL segments skipped on replay because they held no readable record."}),
		replayDuration: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "skald_ingester_wal_replay_duration_seconds", Help: "Time the last WAL replay took."}),
		replayRecords: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "skald_ingester_wal_replayed_records_total", Help: "Records read on WAL replay, checkpoint included."}),
		checkpoints: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "skald_ingester_checkpoint_creations_total", Help: "WAL checkpoints written."}),
		checkpointFail: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "skald_ingester_checkpoint_creations_failed_total", Help: "WAL checkpoints that failed."}),
		checkpointDur: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "skald_ingester_checkpoint_duration_seconds", Help: "Time taken to write a WAL checkpoint.",
			Buckets: prometheus.ExponentialBuckets(0.01, 4, 8)}),
		checkpointSize: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "skald_ingester_checkpoint_size_bytes", Help: "Size of the last WAL checkpoint."}),
	}
	for _, k := range []string{"torn_tail", "corrupt_range", "undecodable"} {
		m.corruptions.WithLabelValues(k)
	}
	if reg != nil {
		reg.MustRegister(m.records, m.bytes, m.fsyncs, m.fsyncDuration, m.writeFailures, m.segment,
			m.corruptions, m.corruptBytes, m.replayDuration, m.replayRecords,
			m.checkpoints, m.checkpointFail, m.checkpointDur, m.checkpointSize)
	}
	return m
}
