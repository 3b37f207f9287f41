package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/gorilla/websocket"

	"github.com/skald-logs/skald/pkg/iter"
	"github.com/skald-logs/skald/pkg/logproto"
	"github.com/skald-logs/skald/pkg/logql"
	"github.com/skald-logs/skald/pkg/logql/syntax"
)

// Live tail (/loki/api/v1/tail) over a WebSocket, as Loki serves it: one
// JSON text message per batch of entries, a ping every second, errors as a
// close frame 1011 with the message. The Tailer follows the entries the
// ingesters append as they are pushed; the tail starts with the history,
// the newest `limit` entries since `start`, which the Engine answers.

// Tailer follows a tenant's entries as they are pushed. Tail returns nil
// when ctx is done, or the error that ended the tail. It is called
// concurrently; the app adapts the querier to it.
type Tailer interface {
	Tail(ctx context.Context, tenant string, r TailRequest) error
}

// TailRequest is one live tail: the querier's TailRequest, field for field.
type TailRequest struct {
	// Query is the log query: a selector and its pipeline.
	Query string
	// DelayFor holds each entry until this long after its timestamp.
	DelayFor time.Duration
	// History, if set, is called once the tail follows the ingesters; its
	// entries are sent too, merged by time, and live copies of them are
	// not sent again.
	History func(ctx context.Context) ([]iter.StreamEntry, error)
	// Send receives the entries in time order, in batches, with the
	// entries dropped since the last call. It is called from one goroutine
	// and must not block.
	Send func(entries, dropped []iter.StreamEntry) error
}

// Limits and timings of a tail, Loki's where Loki has them.
const (
	maxTailDelayFor          = 5 // seconds
	tailPingPeriod           = time.Second
	tailWriteTimeout         = 10 * time.Second
	tailMaxEntriesPerMessage = 100
	tailMaxBufferedMessages  = 10
	tailMaxDroppedEntries    = 1000
)

var (
	// errTailMaxDuration is Loki's message when a tail has run for
	// -querier.tail-max-duration.
	errTailMaxDuration = errors.New("reached tail max duration limit")
	errTailEnded       = errors.New("tail ended")
)

// tailParams are the parsed parameters of a tail request.
type tailParams struct {
	query    string
	limit    uint32
	start    int64
	delayFor time.Duration
}

// parseTailParams reads query, limit (default 100), start (default an hour
// ago) and delay_for (whole seconds, 0 to 5).
func parseTailParams(r *http.Request, now int64) (tailParams, error) {
	var p tailParams
	p.query = r.Form.Get("query")
	if _, err := syntax.ParseLogSelector(p.query, true); err != nil {
		return p, err
	}
	var err error
	if p.limit, err = parseLimit(r.Form.Get("limit")); err != nil {
		return p, err
	}
	if p.start, _, err = parseBounds(r, now); err != nil {
		return p, err
	}
	if v := r.Form.Get("delay_for"); v != "" {
		d, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return p, badRequest(err.Error())
		}
		if d > maxTailDelayFor {
			return p, badRequest(fmt.Sprintf("delay_for can't be greater than %d", maxTailDelayFor))
		}
		if d < 0 {
			return p, badRequest("delay_for can't be negative")
		}
		p.delayFor = time.Duration(d) * time.Second
	}
	return p, nil
}

// tail serves /loki/api/v1/tail. Bad parameters are refused before the
// upgrade with Loki's 400; once upgraded, errors close the socket.
func (a *API) tail(w http.ResponseWriter, r *http.Request, tenant string) {
	if err := r.ParseForm(); err != nil {
		writeError(w, badRequest(err.Error()))
		return
	}
	now := a.now()
	p, err := parseTailParams(r, now)
	if err != nil {
		writeError(w, err)
		return
	}
	// The history reads no further back than max_query_lookback.
	p.start, _ = clipToLookback(a.limits(tenant), p.start, now, now)
	if !a.tails.add() {
		writeError(w, &httpError{status: http.StatusServiceUnavailable, msg: "shutting down"})
		return
	}
	defer a.tails.done()
	upgrader := websocket.Upgrader{CheckOrigin: func(*http.Request) bool { return true }}
	conn, err := upgrader.Upgrade(w, r, nil)
	if err != nil {
		// Upgrade has answered the client already.
		a.logger.Debug("tail: websocket upgrade failed", "err", err)
		return
	}
	defer conn.Close()
	a.logger.Debug("tail started", "tenant", tenant, "query", p.query)
	err = a.serveTail(r.Context(), conn, tenant, p, categorizeLabels(r))
	a.logger.Debug("tail ended", "tenant", tenant, "query", p.query, "reason", err)
}

// serveTail runs the tail and writes its messages until the client goes,
// the tail fails or lasts too long, or the API shuts down. It returns why
// it ended.
func (a *API) serveTail(ctx context.Context, conn *websocket.Conn, tenant string, p tailParams, categorize bool) error {
	ctx, cancel := context.WithCancel(ctx)
	messages := make(chan *tailMessage, tailMaxBufferedMessages)
	sender := &tailSender{out: messages}
	failed := make(chan error, 1)
	clientGone := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		err := a.deps.Tailer.Tail(ctx, tenant, TailRequest{
			Query: p.query, DelayFor: p.delayFor, History: a.tailHistory(tenant, p), Send: sender.send,
		})
		if ctx.Err() == nil {
			if err == nil {
				err = errTailEnded
			}
			failed <- err
		}
	}()
	go func() {
		defer wg.Done()
		defer close(clientGone)
		for {
			// Clients send nothing but control frames: reading answers
			// pings and reports the close (or a broken connection).
			if _, _, err := conn.NextReader(); err != nil {
				return
			}
		}
	}()
	defer func() {
		cancel()
		_ = conn.Close() // unblocks the reader
		wg.Wait()
	}()

	ping := time.NewTicker(a.tailPing)
	defer ping.Stop()
	var maxDuration <-chan time.Time
	if a.cfg.TailMaxDuration > 0 {
		timer := time.NewTimer(a.cfg.TailMaxDuration)
		defer timer.Stop()
		maxDuration = timer.C
	}
	buf := getBuffer()
	defer putBuffer(buf)
	for {
		select {
		case m := <-messages:
			*buf = appendTailMessage((*buf)[:0], m, categorize)
			_ = conn.SetWriteDeadline(time.Now().Add(tailWriteTimeout))
			if err := conn.WriteMessage(websocket.TextMessage, *buf); err != nil {
				closeTail(conn, websocket.CloseInternalServerErr, err.Error())
				return err
			}
		case err := <-failed:
			a.logger.Warn("tail failed", "err", err)
			closeTail(conn, websocket.CloseInternalServerErr, err.Error())
			return err
		case <-ping.C:
			if err := conn.WriteControl(websocket.PingMessage, nil, time.Now().Add(tailWriteTimeout)); err != nil {
				closeTail(conn, websocket.CloseInternalServerErr, err.Error())
				return err
			}
		case <-maxDuration:
			closeTail(conn, websocket.CloseInternalServerErr, errTailMaxDuration.Error())
			return errTailMaxDuration
		case <-a.tails.closing:
			closeTail(conn, websocket.CloseGoingAway, "server shutting down")
			return errors.New("server shutting down")
		case <-clientGone:
			return errors.New("client closed the connection")
		}
	}
}

// tailHistory returns the query of the tail's first entries: the newest
// p.limit of [start, now), as Loki's querier starts a tail. Without an
// Engine there is no history.
func (a *API) tailHistory(tenant string, p tailParams) func(ctx context.Context) ([]iter.StreamEntry, error) {
	if a.deps.Engine == nil {
		return nil
	}
	return func(ctx context.Context) ([]iter.StreamEntry, error) {
		end := a.now()
		if end <= p.start {
			return nil, nil
		}
		res, err := a.deps.Engine.Query(ctx, tenant, logql.Params{
			Query: p.query, Start: p.start, End: end, Limit: p.limit, Direction: logproto.Backward,
		})
		if err != nil {
			return nil, err
		}
		return flattenStreams(res.Streams), nil
	}
}

// closeTail sends a close frame with code and reason (cut to what a control
// frame can carry).
func closeTail(conn *websocket.Conn, code int, reason string) {
	const maxReason = 123 // 125-byte control payload minus the code
	if len(reason) > maxReason {
		reason = reason[:maxReason]
		for !utf8.ValidString(reason) {
			reason = reason[:len(reason)-1]
		}
	}
	_ = conn.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(code, reason), time.Now().Add(time.Second))
}

// tailSet tracks the running tails so Shutdown can end them.
type tailSet struct {
	mu      sync.Mutex
	wg      sync.WaitGroup
	closed  bool
	closing chan struct{}
}

func newTailSet() *tailSet { return &tailSet{closing: make(chan struct{})} }

// add registers a tail; false once shutting down.
func (s *tailSet) add() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	s.wg.Add(1)
	return true
}

func (s *tailSet) done() { s.wg.Done() }

func (s *tailSet) shutdown() {
	s.mu.Lock()
	if !s.closed {
		s.closed = true
		close(s.closing)
	}
	s.mu.Unlock()
	s.wg.Wait()
}
