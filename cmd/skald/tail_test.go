package main

import (
	"encoding/json"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// tailClient reads a live tail (/loki/api/v1/tail) from a running skald as
// logcli and Grafana do, and hands over each entry with the time it came.
type tailClient struct {
	conn    *websocket.Conn
	entries chan tailed
	errc    chan error
}

type tailed struct {
	line
	labels map[string]string
	at     time.Time
}

func dialTail(t *testing.T, p *proc, params url.Values) *tailClient {
	t.Helper()
	u := "ws" + strings.TrimPrefix(p.addr, "http") + "/loki/api/v1/tail?" + params.Encode()
	conn, resp, err := websocket.DefaultDialer.Dial(u, nil)
	if err != nil {
		t.Fatalf("dial %s: %v (%v)", u, err, resp)
	}
	c := &tailClient{conn: conn, entries: make(chan tailed, 10000), errc: make(chan error, 1)}
	go func() {
		for {
			_, data, err := conn.ReadMessage()
			if err != nil {
				c.errc <- err
				close(c.entries)
				return
			}
			at := time.Now()
			var m struct {
				Streams []struct {
					Stream map[string]string `json:"stream"`
					Values [][]string        `json:"values"`
				} `json:"streams"`
				Dropped []json.RawMessage `json:"dropped_entries"`
			}
			if err := json.Unmarshal(data, &m); err != nil {
				c.errc <- fmt.Errorf("decode %s: %w", data, err)
				close(c.entries)
				return
			}
			if len(m.Dropped) > 0 {
				c.errc <- fmt.Errorf("entries dropped: %s", data)
				close(c.entries)
				return
			}
			for _, s := range m.Streams {
				for _, v := range s.Values {
					ts, _ := strconv.ParseInt(v[0], 10, 64)
					c.entries <- tailed{line: line{stream: s.Stream["job"], ts: ts, text: v[1]}, labels: s.Stream, at: at}
				}
			}
		}
	}()
	t.Cleanup(func() {
		_ = conn.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""), time.Now().Add(time.Second))
		conn.Close()
		for range c.entries {
		}
	})
	return c
}

// next returns the next tailed entry, failing after 30 s.
func (c *tailClient) next(t *testing.T) tailed {
	t.Helper()
	select {
	case e, ok := <-c.entries:
		if !ok {
			t.Fatalf("tail ended: %v", <-c.errc)
		}
		return e
	case <-time.After(30 * time.Second):
		t.Fatal("no tailed entry within 30s")
	}
	return tailed{}
}

// expect reads len(want) entries and checks they are want, in order.
func (c *tailClient) expect(t *testing.T, what string, want []line) []tailed {
	t.Helper()
	got := make([]tailed, 0, len(want))
	for i := range want {
		e := c.next(t)
		if e.line != want[i] {
			t.Fatalf("%s: entry %d is %+v, want %+v", what, i, e.line, want[i])
		}
		got = append(got, e)
	}
	return got
}

func TestTailEndToEnd(t *testing.T) {
	p := start(t, t.TempDir())
	now := time.Now()
	// Lines pushed before the tail starts: it begins with the newest
	// `limit` of them.
	before := makeLines("tail", now.Add(-time.Minute).UnixNano(), 5, "before")
	pushJSON(t, p, before, false)
	c := dialTail(t, p, url.Values{"query": {`{job="tail"}`}, "limit": {"3"}, "start": {strconv.FormatInt(now.Add(-time.Hour).UnixNano(), 10)}})
	got := c.expect(t, "history", before[2:])
	// detected_level is structured metadata the distributor adds; an
	// uncategorized tail merges it into the stream labels, as Loki does.
	if fmt.Sprint(got[0].labels) != "map[detected_level:unknown job:tail service_name:tail source:json]" {
		t.Errorf("stream labels %v", got[0].labels)
	}

	// Pushed while tailing, in several pushes (gzip and not), with another
	// stream's lines in between: each of ours arrives once, in order.
	var want []line
	next := time.Now().UnixNano()
	for b := 0; b < 6; b++ {
		next = max(next, time.Now().UnixNano())
		ls := makeLines("tail", next, 40, fmt.Sprintf("batch %d", b))
		next = ls[len(ls)-1].ts + int64(time.Millisecond)
		pushJSON(t, p, ls, b%2 == 1)
		pushJSON(t, p, makeLines("other", time.Now().UnixNano(), 5, "not tailed"), false)
		want = append(want, ls...)
	}
	c.expect(t, "live", want)
	// Nothing is repeated: the next entry is the sentinel.
	sentinel := makeLines("tail", max(next, time.Now().UnixNano()), 1, "sentinel")
	pushJSON(t, p, sentinel, false)
	c.expect(t, "after the live lines", sentinel)
	p.stop()
}

func TestTailDelayForEndToEnd(t *testing.T) {
	p := start(t, t.TempDir())
	const delay = 2 * time.Second
	c := dialTail(t, p, url.Values{"query": {`{job="delayed"}`}, "delay_for": {"2"}})
	now := time.Now()
	// A line stamped in the near future, then one stamped in the past: the
	// tail holds each back until it is `delay` old, so the older comes first
	// and the newer not before its timestamp + delay.
	future := makeLines("delayed", now.Add(time.Second).UnixNano(), 1, "future")
	past := makeLines("delayed", now.Add(-time.Second).UnixNano(), 1, "past")
	pushJSON(t, p, future, false)
	pushJSON(t, p, past, false)
	got := c.expect(t, "delayed", append(past, future...))
	for _, e := range got {
		if earliest := time.Unix(0, e.ts).Add(delay); e.at.Before(earliest) {
			t.Errorf("%q arrived at %s, before its timestamp + delay_for (%s)", e.text, e.at.Format(time.RFC3339Nano), earliest.Format(time.RFC3339Nano))
		}
	}
	p.stop()
}

// TestTailLateEntriesEndToEnd pushes, while a tail is open, entries whose
// timestamps are well behind the clock (a shipper catching up on a
// backlog): the ingester sends every entry it appends to the tail, so each
// arrives, once, whatever its time.
func TestTailLateEntriesEndToEnd(t *testing.T) {
	p := start(t, t.TempDir())
	c := dialTail(t, p, url.Values{"query": {`{job="late"}`}})
	// The tail is followed from its first message on; an entry pushed
	// before that comes with the history instead. Either way it comes once.
	now := time.Now()
	first := makeLines("late", now.Add(-time.Second).UnixNano(), 1, "first")
	pushJSON(t, p, first, false)
	c.expect(t, "first", first)

	minuteOld := makeLines("late", time.Now().Add(-time.Minute).UnixNano(), 1, "a minute old")
	pushJSON(t, p, minuteOld, false)
	c.expect(t, "an entry 60 s in the past", minuteOld)

	// A backlog: ten minutes old, in one push, sent in time order.
	backlog := makeLines("late", time.Now().Add(-10*time.Minute).UnixNano(), 50, "backlog")
	pushJSON(t, p, backlog, true)
	c.expect(t, "the backlog", backlog)

	sentinel := makeLines("late", time.Now().UnixNano(), 1, "sentinel")
	pushJSON(t, p, sentinel, false)
	c.expect(t, "after the late lines", sentinel)
	p.stop()
}
