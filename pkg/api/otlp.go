package api

import (
	"errors"
	"net/http"
	"strings"

	"google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/skald-logs/skald/pkg/logproto"
	"github.com/skald-logs/skald/pkg/otlp"
)

// otlpHandler serves POST /otlp/v1/logs, where the OpenTelemetry
// Collector's otlphttp exporter and Alloy's otelcol.exporter.otlphttp push
// logs: an ExportLogsServiceRequest in protobuf or JSON, optionally gzip,
// zstd or lz4 compressed, mapped to streams with Loki's default mapping
// (see package otlp) and pushed like any push. It answers 204 on success
// and, as Loki does, any error as a protobuf google.rpc.Status.
func (a *API) otlpHandler() tenantHandler {
	dec := otlp.NewDecoder(otlp.DefaultConfig())
	return func(w http.ResponseWriter, r *http.Request, tenant string) {
		if err := a.otlpPush(r, dec, tenant); err != nil {
			writeOTLPError(w, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}
}

// otlpPush reads, decodes and pushes one export, checking what Loki checks
// in Loki's order: the encoding, the body's size before and after
// decompression, the content type, the body itself, then (as for any push)
// that there is something to push.
func (a *API) otlpPush(r *http.Request, dec *otlp.Decoder, tenant string) error {
	encoding := r.Header.Get("Content-Encoding")
	if err := otlp.CheckEncoding(encoding); err != nil {
		return badRequest(err.Error())
	}
	body := getBuffer()
	defer putBuffer(body)
	var err error
	*body, err = readAllLimited(*body, r.Body, r.ContentLength, int64(a.cfg.MaxRecvMsgSize), errMsgTooLarge)
	if err != nil {
		return err
	}
	buf := getBuffer()
	defer putBuffer(buf)
	data, err := otlp.Decompress(*buf, encoding, *body, a.cfg.MaxDecompressedSize)
	if encoding != "" {
		*buf = data // keep the grown buffer for the pool
	}
	if err != nil {
		return otlpBodyError(err)
	}
	format, err := otlp.ParseContentType(r.Header.Get("Content-Type"))
	if err != nil {
		return badRequest(err.Error())
	}

	opts := otlp.Options{Now: a.now()}
	if a.deps.Limits != nil {
		// Without the tenant's limits the distributor discovers
		// service_name itself.
		opts.DiscoverServiceName = a.deps.Limits.For(tenant).DiscoverServiceName
	}
	var req logproto.PushRequest
	if err := dec.Decode(data, format, opts, &req); err != nil {
		return otlpBodyError(err)
	}
	if len(req.Streams) == 0 {
		return errNoStreams
	}
	if err := a.deps.Pusher.Push(r.Context(), tenant, &req); err != nil {
		a.logFailure(r, tenant, err)
		return err
	}
	return nil
}

// otlpBodyError gives an error of package otlp its status: 413 for a body
// too large once decompressed, else 400.
func otlpBodyError(err error) error {
	if errors.Is(err, otlp.ErrTooLarge) {
		return &httpError{status: http.StatusRequestEntityTooLarge, msg: err.Error()}
	}
	return badRequest(err.Error())
}

// writeOTLPError answers as Loki's OTLP handler does, following the
// OTLP/HTTP spec: the status code (500 becomes 503, which OTLP clients
// retry), and a protobuf google.rpc.Status whose message is the error text
// (its code left 0, which the spec allows) as application/octet-stream.
func writeOTLPError(w http.ResponseWriter, err error) {
	code, msg := statusAndMessage(err)
	if code == http.StatusInternalServerError {
		code = http.StatusServiceUnavailable
	}
	// A proto3 string must be UTF-8 (the message may quote what was sent);
	// with that, marshalling cannot fail.
	body, _ := proto.Marshal(&status.Status{Message: strings.ToValidUTF8(msg, "\uFFFD")})
	h := w.Header()
	h.Del("Content-Encoding")
	h.Set("Content-Type", "application/octet-stream")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(code)
	_, _ = w.Write(body)
}
