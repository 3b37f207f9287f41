package loadgen

import (
	"strconv"
	"time"
)

// The vocabulary of generated lines: a web service's requests, with the
// skew real traffic has (mostly 2xx GETs, few errors, rare slow requests).
var (
	methods = [...]string{"GET", "GET", "GET", "GET", "GET", "GET", "GET", "POST", "POST", "PUT", "DELETE"}
	paths   = [...]string{
		"/api/v1/users/", "/api/v1/orders/", "/api/v1/payments", "/api/v1/checkout",
		"/static/js/app.", "/healthz", "/metrics", "/api/v1/search?q=",
		"/login", "/api/v1/cart/", "/images/", "/api/v2/inventory/",
	}
	agents = [...]string{
		"Mozilla/5.0 (X11; Linux x86_64) Chrome/120.0",
		"Mozilla/5.0 (iPhone; CPU iPhone OS 17_1)",
		"Mozilla/5.0 (Windows NT 10.0) Firefox/121.0",
		"curl/8.5.0",
		"Go-http-client/1.1",
		"kube-probe/1.29",
		"python-requests/2.31.0",
		"Prometheus/2.48.1",
	}
	infoMsgs = [...]string{
		"request completed", "served from cache", "session refreshed", "order placed",
		"user signed in", "payment authorized", "cache miss, loaded from database",
		"search returned results", "inventory reserved", "job finished",
	}
	warnMsgs = [...]string{
		"client error: resource not found", "rate limited client", "invalid request parameters",
		"token expired, asking client to sign in again", "slow database query",
	}
	errMsgs = [...]string{
		"upstream connection reset after ", "database deadlock detected, retry after ",
		"upstream returned bad gateway after ",
	}
	debugMsgs = [...]string{"cache lookup", "acquired connection from pool", "feature flag evaluated", "retrying idempotent call"}
	words     = [...]string{
		"account", "batch", "buffer", "client", "cluster", "commit", "config", "context",
		"customer", "deadline", "default", "handler", "header", "index", "item", "key",
		"latency", "limit", "listing", "node", "offset", "order", "page", "partition",
		"payload", "policy", "pool", "profile", "queue", "quota", "region", "replica",
		"request", "response", "retry", "route", "schema", "scope", "segment", "server",
		"session", "shard", "snapshot", "status", "stream", "tenant", "token", "upstream",
		"user", "value", "version", "window", "worker", "zone", "primary", "secondary",
	}
)

const hexDigits = "0123456789abcdef"

// request is the random content of one generated line.
type request struct {
	method, path string
	id           uint64
	status       int
	bytes        int
	durationMs   int
	client       uint32
	agent        string
	level        string
	msg          string
	msgNum       int // appended to msg followed by "ms" when >= 0
}

func (c *Cursor) draw() request {
	r := c.rng
	q := request{
		method: methods[r.IntN(len(methods))],
		path:   paths[r.IntN(len(paths))],
		id:     r.Uint64N(100000),
		bytes:  200 + r.IntN(50000),
		// ~40 ms on average, a long tail.
		durationMs: int(r.ExpFloat64() * 40),
		// A small pool of clients per stream, as behind a few proxies.
		client: uint32(c.stream)<<8 | uint32(r.IntN(64)),
		agent:  agents[r.IntN(len(agents))],
		msgNum: -1,
	}
	switch p := r.IntN(10000); {
	case p < 1: // one in 10,000: a timed-out request
		q.status, q.level, q.durationMs = 504, "error", 5000+r.IntN(5000)
		q.msg, q.msgNum = "upstream timeout after ", q.durationMs
	case p < 200:
		q.status, q.level = [...]int{500, 502, 503}[r.IntN(3)], "error"
		q.msg, q.msgNum = errMsgs[r.IntN(len(errMsgs))], q.durationMs
	case p < 800:
		q.status, q.level = [...]int{400, 401, 404, 404, 429}[r.IntN(5)], "warn"
		q.msg = warnMsgs[r.IntN(len(warnMsgs))]
	case p < 1000:
		q.status, q.level = 200, "debug"
		q.msg = debugMsgs[r.IntN(len(debugMsgs))]
	default:
		q.status, q.level = [...]int{200, 200, 200, 200, 200, 200, 201, 204, 301, 304}[r.IntN(10)], "info"
		q.msg = infoMsgs[r.IntN(len(infoMsgs))]
	}
	u := r.Uint64()
	for i := range c.traceID {
		c.traceID[i] = hexDigits[u>>(4*uint(i))&0xf]
	}
	return q
}

// generate appends one generated line for timestamp ts to dst.
func (c *Cursor) generate(dst []byte, ts int64) []byte {
	q := c.draw()
	start := len(dst)
	// Sizes vary by ±25% around the mean; lines whose fields alone are
	// longer than their target are made up for by padding later ones less.
	target := c.w.cfg.LineSize*(75+c.rng.IntN(51))/100 + c.balance
	switch c.st.Kind {
	case KindAccess:
		dst = appendIP(dst, q.client)
		dst = append(dst, " - - ["...)
		dst = append(dst, c.tsCache.clf(ts)...)
		dst = append(dst, "] \""...)
		dst = appendRequestLine(dst, &q)
		dst = append(dst, " HTTP/1.1\" "...)
		dst = strconv.AppendInt(dst, int64(q.status), 10)
		dst = append(dst, ' ')
		dst = strconv.AppendInt(dst, int64(q.bytes), 10)
		dst = append(dst, " rt="...)
		dst = appendMillisAsSeconds(dst, q.durationMs)
		dst = append(dst, " trace_id="...)
		dst = append(dst, c.traceID[:]...)
		dst = append(dst, ` "-" "`...)
		dst = append(dst, q.agent...)
		dst = c.pad(dst, start, target-1)
		dst = append(dst, '"')
	case KindJSON:
		dst = append(dst, `{"ts":"`...)
		dst = c.tsCache.rfc3339Milli(dst, ts)
		dst = append(dst, `","level":"`...)
		dst = append(dst, q.level...)
		dst = append(dst, `","method":"`...)
		dst = append(dst, q.method...)
		dst = append(dst, `","path":"`...)
		dst = appendPath(dst, &q)
		dst = append(dst, `","status":`...)
		dst = strconv.AppendInt(dst, int64(q.status), 10)
		dst = append(dst, `,"duration_ms":`...)
		dst = strconv.AppendInt(dst, int64(q.durationMs), 10)
		dst = append(dst, `,"trace_id":"`...)
		dst = append(dst, c.traceID[:]...)
		dst = append(dst, `","msg":"`...)
		dst = appendMsg(dst, &q)
		dst = c.pad(dst, start, target-2)
		dst = append(dst, `"}`...)
	default: // KindLogfmt
		dst = append(dst, "ts="...)
		dst = c.tsCache.rfc3339Milli(dst, ts)
		dst = append(dst, " level="...)
		dst = append(dst, q.level...)
		dst = append(dst, " method="...)
		dst = append(dst, q.method...)
		dst = append(dst, " path="...)
		dst = appendPath(dst, &q)
		dst = append(dst, " status="...)
		dst = strconv.AppendInt(dst, int64(q.status), 10)
		dst = append(dst, " duration="...)
		dst = strconv.AppendInt(dst, int64(q.durationMs), 10)
		dst = append(dst, "ms client="...)
		dst = appendIP(dst, q.client)
		dst = append(dst, " trace_id="...)
		dst = append(dst, c.traceID[:]...)
		dst = append(dst, ` msg="`...)
		dst = appendMsg(dst, &q)
		dst = c.pad(dst, start, target-1)
		dst = append(dst, '"')
	}
	// Carry the difference to the mean, within a line's worth.
	c.balance = min(max(c.balance+c.w.cfg.LineSize-(len(dst)-start), -c.w.cfg.LineSize), c.w.cfg.LineSize)
	return dst
}

// pad appends words until the line that began at start is target bytes
// long (or a little longer).
func (c *Cursor) pad(dst []byte, start, target int) []byte {
	for len(dst)-start < target {
		dst = append(dst, ' ')
		dst = append(dst, words[c.rng.IntN(len(words))]...)
	}
	return dst
}

func appendMsg(dst []byte, q *request) []byte {
	dst = append(dst, q.msg...)
	if q.msgNum >= 0 {
		dst = strconv.AppendInt(dst, int64(q.msgNum), 10)
		dst = append(dst, "ms"...)
	}
	return dst
}

func appendRequestLine(dst []byte, q *request) []byte {
	dst = append(dst, q.method...)
	dst = append(dst, ' ')
	return appendPath(dst, q)
}

// appendPath appends the request path, with an id where the route takes one.
func appendPath(dst []byte, q *request) []byte {
	dst = append(dst, q.path...)
	switch q.path[len(q.path)-1] {
	case '/':
		dst = strconv.AppendUint(dst, q.id, 10)
	case '.':
		dst = strconv.AppendUint(dst, q.id%32, 16)
		dst = append(dst, ".js"...)
	case '=':
		dst = append(dst, words[q.id%uint64(len(words))]...)
	}
	return dst
}

func appendIP(dst []byte, v uint32) []byte {
	dst = append(dst, "10."...)
	dst = strconv.AppendUint(dst, uint64(v>>16&0xff), 10)
	dst = append(dst, '.')
	dst = strconv.AppendUint(dst, uint64(v>>8&0xff), 10)
	dst = append(dst, '.')
	return strconv.AppendUint(dst, uint64(v&0xff), 10)
}

// appendMillisAsSeconds appends ms as seconds with three decimals.
func appendMillisAsSeconds(dst []byte, ms int) []byte {
	dst = strconv.AppendInt(dst, int64(ms/1000), 10)
	dst = append(dst, '.')
	f := ms % 1000
	return append(dst, byte('0'+f/100), byte('0'+f/10%10), byte('0'+f%10))
}

// timeCache formats timestamps, reusing the formatted second: the lines of
// a stream are seconds apart or less, so most lines hit the cache.
type timeCache struct {
	sec      int64
	rfcSec   []byte // 2006-01-02T15:04:05
	clfSec   []byte // 02/Jan/2006:15:04:05 +0000
	rfcValid bool
}

func (tc *timeCache) load(ts int64) {
	sec := ts / 1e9
	if tc.rfcValid && sec == tc.sec {
		return
	}
	t := time.Unix(sec, 0).UTC()
	tc.sec, tc.rfcValid = sec, true
	tc.rfcSec = t.AppendFormat(tc.rfcSec[:0], "2006-01-02T15:04:05")
	tc.clfSec = t.AppendFormat(tc.clfSec[:0], "02/Jan/2006:15:04:05 -0700")
}

// rfc3339Milli appends ts as 2006-01-02T15:04:05.000Z.
func (tc *timeCache) rfc3339Milli(dst []byte, ts int64) []byte {
	tc.load(ts)
	dst = append(dst, tc.rfcSec...)
	ms := ts / 1e6 % 1000
	return append(dst, '.', byte('0'+ms/100), byte('0'+ms/10%10), byte('0'+ms%10), 'Z')
}

// clf returns ts in the common log format, to the second.
func (tc *timeCache) clf(ts int64) []byte {
	tc.load(ts)
	return tc.clfSec
}
