package api

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"slices"
	"sync"

	"github.com/golang/snappy"
	"github.com/klauspost/compress/flate"
	"github.com/klauspost/compress/gzip"

	"github.com/skald-logs/skald/pkg/logproto"
)

// errNoStreams is Loki's answer to a push without streams.
var errNoStreams = &httpError{status: http.StatusUnprocessableEntity, msg: "error at least one valid stream is required for ingestion"}

// pushDecoders turn a (decompressed) push body into a PushRequest: Loki's
// snappy-compressed protobuf, its JSON, and the JSON of the legacy
// /api/prom/push. They must copy whatever they keep: the body buffer is
// reused once the push is done.
type pushDecoders struct {
	snappyProto func(compressed []byte, req *logproto.PushRequest) error
	json        func(b []byte, req *logproto.PushRequest) error
	legacyJSON  func(b []byte, req *logproto.PushRequest) error
}

func defaultPushDecoders() pushDecoders {
	return pushDecoders{
		snappyProto: logproto.DecodeSnappyPushRequest,
		json:        logproto.UnmarshalJSONPushRequest,
		legacyJSON:  logproto.UnmarshalLegacyJSONPushRequest,
	}
}

// pushHandler serves /loki/api/v1/push, or /api/prom/push when legacy.
func (a *API) pushHandler(legacy bool) tenantHandler {
	return func(w http.ResponseWriter, r *http.Request, tenant string) {
		var req logproto.PushRequest
		body, data, err := a.readPushBody(r)
		if body != nil {
			defer putBuffer(body)
		}
		if data != nil {
			defer putBuffer(data)
		}
		if err == nil {
			err = a.decodePush(r, legacy, *data, &req)
		}
		if err != nil {
			writePushError(w, err)
			return
		}
		if len(req.Streams) == 0 {
			writePushError(w, errNoStreams)
			return
		}
		if err := a.deps.Pusher.Push(r.Context(), tenant, &req); err != nil {
			a.logFailure(r, tenant, err)
			writePushError(w, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}
}

// readPushBody reads the body within MaxRecvMsgSize and undoes its
// Content-Encoding within MaxDecompressedSize. It returns the pooled
// buffers it used (to be released by the caller even on error) and, when
// err is nil, data holds the decoded bytes (data may be body).
func (a *API) readPushBody(r *http.Request) (body, data *[]byte, err error) {
	enc := r.Header.Get("Content-Encoding")
	switch enc {
	case "", "snappy", "gzip", "deflate":
		// Snappy is undone by the protobuf decoder: clients set the header
		// for the snappy block they send, which is not a transfer coding.
	default:
		return nil, nil, badRequest(fmt.Sprintf("Content-Encoding %q not supported", enc))
	}
	if _, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil {
		return nil, nil, badRequest(err.Error())
	}

	body = getBuffer()
	*body, err = readAllLimited(*body, r.Body, r.ContentLength, int64(a.cfg.MaxRecvMsgSize), errMsgTooLarge)
	if err != nil {
		return body, nil, err
	}
	if enc != "gzip" && enc != "deflate" {
		return nil, body, nil
	}

	data = getBuffer()
	var zr io.ReadCloser
	if enc == "gzip" {
		gr := gzipReaderPool.Get().(*gzip.Reader)
		defer gzipReaderPool.Put(gr)
		if err := gr.Reset(bytes.NewReader(*body)); err != nil {
			return body, data, badRequest(err.Error())
		}
		zr = gr
	} else {
		fr := flateReaderPool.Get().(io.ReadCloser)
		defer flateReaderPool.Put(fr)
		if err := fr.(flate.Resetter).Reset(bytes.NewReader(*body), nil); err != nil {
			return body, data, badRequest(err.Error())
		}
		zr = fr
	}
	*data, err = readAllLimited(*data, zr, -1, a.cfg.MaxDecompressedSize, errMsgDecompressedTooLarge)
	_ = zr.Close()
	return body, data, err
}

// decodePush decodes a decompressed body by its Content-Type: JSON when
// application/json, else (any type, as Loki) snappy-compressed protobuf.
func (a *API) decodePush(r *http.Request, legacy bool, data []byte, req *logproto.PushRequest) error {
	mediaType, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	var err error
	switch {
	case mediaType == "application/json" && legacy:
		err = a.decoders.legacyJSON(data, req)
	case mediaType == "application/json":
		err = a.decoders.json(data, req)
	default:
		if n, lenErr := snappy.DecodedLen(data); lenErr == nil && int64(n) > a.cfg.MaxDecompressedSize {
			return &httpError{
				status: http.StatusRequestEntityTooLarge,
				msg:    fmt.Sprintf("%s than max (%d vs %d)", errMsgDecompressedTooLarge, n, a.cfg.MaxDecompressedSize),
			}
		}
		err = a.decoders.snappyProto(data, req)
	}
	if err != nil {
		var he *httpError
		if errors.As(err, &he) {
			return err
		}
		return badRequest(err.Error())
	}
	return nil
}

// Loki's words for bodies over the limits.
const (
	errMsgTooLarge             = "message size too large"
	errMsgDecompressedTooLarge = "decompressed message size too large"
)

// readAllLimited appends everything r yields to buf. More than limit bytes
// is a 413 (tooLarge names the limit); a read error is a 400. A known
// contentLength over the limit is refused before reading, and a plausible
// one sizes the buffer up front.
func readAllLimited(buf []byte, r io.Reader, contentLength, limit int64, tooLarge string) ([]byte, error) {
	if contentLength > limit {
		return buf, &httpError{
			status: http.StatusRequestEntityTooLarge,
			msg:    fmt.Sprintf("%s than max (%d vs %d)", tooLarge, contentLength, limit),
		}
	}
	if contentLength > 0 {
		// One byte more than announced, so that EOF needs no regrowth.
		buf = slices.Grow(buf, int(contentLength)+1)
	}
	for {
		if len(buf) == cap(buf) {
			buf = slices.Grow(buf, 4096)
		}
		room := buf[len(buf):cap(buf)]
		if rem := limit + 1 - int64(len(buf)); int64(len(room)) > rem {
			room = room[:rem] // read at most one byte past the limit
		}
		n, err := r.Read(room)
		buf = buf[:len(buf)+n]
		if int64(len(buf)) > limit {
			return buf, &httpError{
				status: http.StatusRequestEntityTooLarge,
				msg:    fmt.Sprintf("%s than max (%d vs %d)", tooLarge, len(buf), limit),
			}
		}
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			return buf, badRequest(err.Error())
		}
	}
}

var (
	gzipReaderPool  = sync.Pool{New: func() any { return new(gzip.Reader) }}
	flateReaderPool = sync.Pool{New: func() any { return flate.NewReader(nil) }}
)
