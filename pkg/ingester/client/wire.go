package client

import (
	"context"
	"errors"
	"fmt"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/encoding"
	"google.golang.org/grpc/mem"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/skald-logs/skald/pkg/validation"
)

// TenantHeader is the gRPC metadata key of the tenant, as in Loki.
const TenantHeader = "x-scope-orgid"

// ErrNoTenant is returned by TenantFromContext when a call carries no tenant.
var ErrNoTenant = errors.New("no tenant in the request metadata")

// withTenant returns ctx carrying tenant to the server.
func withTenant(ctx context.Context, tenant string) context.Context {
	return metadata.AppendToOutgoingContext(ctx, TenantHeader, tenant)
}

// TenantFromContext returns the tenant of an incoming gRPC call.
func TenantFromContext(ctx context.Context) (string, error) {
	md, _ := metadata.FromIncomingContext(ctx)
	vs := md.Get(TenantHeader)
	if len(vs) != 1 || vs[0] == "" {
		return "", ErrNoTenant
	}
	return vs[0], nil
}

// ToStatus maps an ingester error to the gRPC status the server returns:
// refused input (validation.ErrInvalid) is InvalidArgument, a limit
// (validation.ErrRateLimited) ResourceExhausted, a cancelled or timed-out
// call its context code, anything else Internal. The message is kept
// verbatim, so the distributor can pass it on to the user.
func ToStatus(err error) error {
	if err == nil {
		return nil
	}
	if _, ok := status.FromError(err); ok {
		return err
	}
	code := codes.Internal
	switch {
	case errors.Is(err, validation.ErrInvalid):
		code = codes.InvalidArgument
	case errors.Is(err, validation.ErrRateLimited):
		code = codes.ResourceExhausted
	case errors.Is(err, context.Canceled):
		code = codes.Canceled
	case errors.Is(err, context.DeadlineExceeded):
		code = codes.DeadlineExceeded
	case errors.Is(err, ErrNoTenant):
		code = codes.Unauthenticated
	}
	return status.Error(code, err.Error())
}

// remoteError is an error an ingester answered with. It matches
// validation.ErrInvalid or validation.ErrRateLimited when the ingester
// refused the input, so the API answers 400 or 429 with the ingester's
// message; every other failure is a server error (5xx).
type remoteError struct {
	addr string
	code codes.Code
	msg  string
}

func (e *remoteError) Error() string {
	switch e.code {
	case codes.InvalidArgument, codes.ResourceExhausted:
		return e.msg // the user's message, verbatim
	}
	return fmt.Sprintf("ingester %s: %s: %s", e.addr, e.code, e.msg)
}

func (e *remoteError) Is(target error) bool {
	switch e.code {
	case codes.InvalidArgument:
		return target == validation.ErrInvalid
	case codes.ResourceExhausted:
		return target == validation.ErrRateLimited
	case codes.Canceled:
		return target == context.Canceled
	case codes.DeadlineExceeded:
		return target == context.DeadlineExceeded
	}
	return false
}

// fromStatus turns the error of a call to addr into a remoteError.
func fromStatus(addr string, err error) error {
	if err == nil {
		return nil
	}
	s, ok := status.FromError(err)
	if !ok {
		return fmt.Errorf("ingester %s: %w", addr, err)
	}
	return &remoteError{addr: addr, code: s.Code(), msg: s.Message()}
}

// IsClientError reports whether err is the ingester refusing the input
// (400 or 429): retrying elsewhere would be refused the same way.
func IsClientError(err error) bool {
	return errors.Is(err, validation.ErrInvalid) || errors.Is(err, validation.ErrRateLimited)
}

// RawMessage is a message whose protobuf wire bytes are encoded and decoded
// by hand. The Codec passes its bytes through untouched.
type RawMessage struct {
	// Data are the wire bytes: set by the sender; on receipt they are valid
	// until Free.
	Data []byte
	buf  mem.Buffer
}

// Free releases the received bytes to the buffer pool.
func (m *RawMessage) Free() {
	if m.buf != nil {
		m.buf.Free()
		m.buf, m.Data = nil, nil
	}
}

// Codec is the protobuf codec with a pass-through for *RawMessage. Its name
// is "proto", so it is wire compatible with every gRPC peer.
type Codec struct{}

var protoCodec = encoding.GetCodecV2("proto")

// Name implements encoding.CodecV2.
func (Codec) Name() string { return "proto" }

// Marshal implements encoding.CodecV2.
func (Codec) Marshal(v any) (mem.BufferSlice, error) {
	if m, ok := v.(*RawMessage); ok {
		return mem.BufferSlice{mem.SliceBuffer(m.Data)}, nil
	}
	return protoCodec.Marshal(v)
}

// Unmarshal implements encoding.CodecV2.
func (Codec) Unmarshal(data mem.BufferSlice, v any) error {
	if m, ok := v.(*RawMessage); ok {
		m.Free()
		m.buf = data.MaterializeToBuffer(mem.DefaultBufferPool())
		m.Data = m.buf.ReadOnlyData()
		return nil
	}
	return protoCodec.Unmarshal(data, v)
}

// ServerCodec is the server option an ingester's gRPC server needs so that
// its push handler receives raw bytes (see RegisterPusher).
func ServerCodec() grpc.ServerOption { return grpc.ForceServerCodecV2(Codec{}) }
