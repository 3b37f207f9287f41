package s3

import (
	"errors"
	"net/http"
	"strconv"
	"time"

	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/prometheus/client_golang/prometheus"
)

// metrics count every HTTP attempt, retries included.
type metrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "skald_s3_requests_total",
			Help: "S3 HTTP requests (every attempt, retries included) by operation and status: the HTTP status code, \"error\" for a network error, \"canceled\" for a cancelled request.",
		}, []string{"operation", "status"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:                            "skald_s3_request_duration_seconds",
			Help:                            "Time from sending an S3 HTTP request to receiving its response headers (or an error), by operation.",
			Buckets:                         []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
			NativeHistogramBucketFactor:     1.1,
			NativeHistogramMaxBucketNumber:  100,
			NativeHistogramMinResetDuration: time.Hour,
		}, []string{"operation"}),
	}
	if reg == nil {
		return m, nil
	}
	var err error
	if m.requests, err = register(reg, m.requests); err != nil {
		return nil, err
	}
	if m.duration, err = register(reg, m.duration); err != nil {
		return nil, err
	}
	return m, nil
}

// register registers c, or returns the equal collector already registered
// (a second bucket in the same process shares the metrics).
func register[C prometheus.Collector](reg prometheus.Registerer, c C) (C, error) {
	err := reg.Register(c)
	if err == nil {
		return c, nil
	}
	var are prometheus.AlreadyRegisteredError
	if errors.As(err, &are) {
		if existing, ok := are.ExistingCollector.(C); ok {
			return existing, nil
		}
	}
	return c, err
}

// instrumented is an http.RoundTripper that observes every attempt. The SDK
// puts the operation name in the request's context.
type instrumented struct {
	next    http.RoundTripper
	metrics *metrics
}

func (t instrumented) RoundTrip(req *http.Request) (*http.Response, error) {
	op := awsmiddleware.GetOperationName(req.Context())
	if op == "" {
		op = "unknown"
	}
	start := time.Now()
	resp, err := t.next.RoundTrip(req)
	t.metrics.duration.WithLabelValues(op).Observe(time.Since(start).Seconds())
	var status string
	switch {
	case err == nil:
		status = strconv.Itoa(resp.StatusCode)
	case req.Context().Err() != nil:
		status = "canceled"
	default:
		status = "error"
	}
	t.metrics.requests.WithLabelValues(op, status).Inc()
	return resp, err
}
