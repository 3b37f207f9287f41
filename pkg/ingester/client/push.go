package client

import (
	"google.golang.org/protobuf/encoding/protowire"

	"github.com/skald-logs/skald/pkg/logproto"
)

// Field numbers of Loki's push messages (pkg/logproto/push.proto).
const (
	fieldPushStreams    = 1
	fieldStreamLabels   = 1
	fieldStreamEntries  = 2
	fieldStreamHash     = 3
	fieldEntryTimestamp = 1
	fieldEntryLine      = 2
	fieldEntryMetadata  = 3
	fieldTimestampSecs  = 1
	fieldTimestampNanos = 2
	fieldLabelName      = 1
	fieldLabelValue     = 2
)

// AppendPushRequest appends the protobuf wire form of req (Loki's
// PushRequest, with each stream's Hash) to b. Parsed labels are not part of
// a push and are not encoded. logproto.UnmarshalPushRequest decodes it.
func AppendPushRequest(b []byte, req *logproto.PushRequest) []byte {
	for i := range req.Streams {
		s := &req.Streams[i]
		b = protowire.AppendTag(b, fieldPushStreams, protowire.BytesType)
		b = protowire.AppendVarint(b, uint64(streamSize(s)))
		b = appendString(b, fieldStreamLabels, s.Labels)
		for j := range s.Entries {
			e := &s.Entries[j]
			b = protowire.AppendTag(b, fieldStreamEntries, protowire.BytesType)
			b = protowire.AppendVarint(b, uint64(entrySize(e)))
			b = appendEntry(b, e)
		}
		if s.Hash != 0 {
			b = protowire.AppendTag(b, fieldStreamHash, protowire.VarintType)
			b = protowire.AppendVarint(b, s.Hash)
		}
	}
	return b
}

// PushRequestSize is the length of AppendPushRequest's output.
func PushRequestSize(req *logproto.PushRequest) int {
	n := 0
	for i := range req.Streams {
		n += sizeBytes(fieldPushStreams, streamSize(&req.Streams[i]))
	}
	return n
}

func appendEntry(b []byte, e *logproto.Entry) []byte {
	secs, nanos := splitTimestamp(e.Timestamp)
	b = protowire.AppendTag(b, fieldEntryTimestamp, protowire.BytesType)
	b = protowire.AppendVarint(b, uint64(timestampSize(secs, nanos)))
	if secs != 0 {
		b = protowire.AppendTag(b, fieldTimestampSecs, protowire.VarintType)
		b = protowire.AppendVarint(b, uint64(secs))
	}
	if nanos != 0 {
		b = protowire.AppendTag(b, fieldTimestampNanos, protowire.VarintType)
		b = protowire.AppendVarint(b, uint64(nanos))
	}
	b = appendString(b, fieldEntryLine, e.Line)
	for _, p := range e.StructuredMetadata {
		b = protowire.AppendTag(b, fieldEntryMetadata, protowire.BytesType)
		b = protowire.AppendVarint(b, uint64(pairSize(p)))
		b = appendString(b, fieldLabelName, p.Name)
		b = appendString(b, fieldLabelValue, p.Value)
	}
	return b
}

// appendString appends a string field; proto3 omits empty strings.
func appendString(b []byte, field protowire.Number, s string) []byte {
	if s == "" {
		return b
	}
	b = protowire.AppendTag(b, field, protowire.BytesType)
	return protowire.AppendString(b, s)
}

// splitTimestamp splits Unix nanoseconds into a google.protobuf.Timestamp's
// seconds and non-negative nanos.
func splitTimestamp(ts int64) (int64, int32) {
	secs, nanos := ts/1e9, ts%1e9
	if nanos < 0 {
		secs, nanos = secs-1, nanos+1e9
	}
	return secs, int32(nanos)
}

func streamSize(s *logproto.Stream) int {
	n := sizeString(fieldStreamLabels, s.Labels)
	for j := range s.Entries {
		n += sizeBytes(fieldStreamEntries, entrySize(&s.Entries[j]))
	}
	if s.Hash != 0 {
		n += protowire.SizeTag(fieldStreamHash) + protowire.SizeVarint(s.Hash)
	}
	return n
}

func entrySize(e *logproto.Entry) int {
	secs, nanos := splitTimestamp(e.Timestamp)
	n := sizeBytes(fieldEntryTimestamp, timestampSize(secs, nanos)) + sizeString(fieldEntryLine, e.Line)
	for _, p := range e.StructuredMetadata {
		n += sizeBytes(fieldEntryMetadata, pairSize(p))
	}
	return n
}

func timestampSize(secs int64, nanos int32) int {
	n := 0
	if secs != 0 {
		n += 1 + protowire.SizeVarint(uint64(secs))
	}
	if nanos != 0 {
		n += 1 + protowire.SizeVarint(uint64(nanos))
	}
	return n
}

func pairSize(p logproto.LabelAdapter) int {
	return sizeString(fieldLabelName, p.Name) + sizeString(fieldLabelValue, p.Value)
}

func sizeString(field protowire.Number, s string) int {
	if s == "" {
		return 0
	}
	return sizeBytes(field, len(s))
}

func sizeBytes(field protowire.Number, n int) int {
	return protowire.SizeTag(field) + protowire.SizeBytes(n)
}
