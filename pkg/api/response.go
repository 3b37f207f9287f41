package api

import (
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"

	"github.com/klauspost/compress/gzip"
)

// Buffers for responses and push bodies are pooled; one larger than
// maxPooledBuffer is dropped after use so that a single huge request does
// not pin its memory for the life of the process.
const (
	initialBufferSize = 16 << 10
	maxPooledBuffer   = 16 << 20
)

var bufferPool = sync.Pool{New: func() any {
	b := make([]byte, 0, initialBufferSize)
	return &b
}}

func getBuffer() *[]byte {
	b := bufferPool.Get().(*[]byte)
	*b = (*b)[:0]
	return b
}

func putBuffer(b *[]byte) {
	if cap(*b) > maxPooledBuffer {
		return
	}
	bufferPool.Put(b)
}

// gzipMinSize is the smallest body worth compressing; smaller bodies go out
// as they are (the threshold of the gzip handler Loki uses).
const gzipMinSize = 1400

var gzipWriterPool = sync.Pool{New: func() any {
	w, _ := gzip.NewWriterLevel(nil, gzip.BestSpeed)
	return w
}}

// writeBody writes a complete 200 response body whose Content-Type is
// already set, gzip-compressed when compression is on, r is given, the
// client accepts gzip and the body is large enough.
func (a *API) writeBody(w http.ResponseWriter, r *http.Request, body []byte) {
	h := w.Header()
	if a.cfg.CompressResponses && r != nil {
		h.Add("Vary", "Accept-Encoding")
		if len(body) >= gzipMinSize && acceptsGzip(r) {
			zw := gzipWriterPool.Get().(*gzip.Writer)
			defer func() {
				zw.Reset(io.Discard) // drop the reference to w
				gzipWriterPool.Put(zw)
			}()
			h.Set("Content-Encoding", "gzip")
			h.Del("Content-Length")
			w.WriteHeader(http.StatusOK)
			zw.Reset(w)
			if _, err := zw.Write(body); err != nil {
				return
			}
			_ = zw.Close()
			return
		}
	}
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(body)
}

// acceptsGzip reports whether Accept-Encoding lists gzip (or *) without
// q=0.
func acceptsGzip(r *http.Request) bool {
	for _, v := range r.Header.Values("Accept-Encoding") {
		for part := range strings.SplitSeq(v, ",") {
			coding, params, _ := strings.Cut(part, ";")
			coding = strings.TrimSpace(coding)
			if !strings.EqualFold(coding, "gzip") && coding != "*" {
				continue
			}
			if q, ok := strings.CutPrefix(strings.TrimSpace(params), "q="); ok {
				if f, err := strconv.ParseFloat(strings.TrimSpace(q), 64); err == nil && f == 0 {
					continue
				}
			}
			return true
		}
	}
	return false
}
