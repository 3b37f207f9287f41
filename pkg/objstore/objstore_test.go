package objstore

import (
	"bytes"
	"context"
	"errors"
	"io"
	"testing"
)

// getBucket is a Bucket whose Get returns a fixed reader; its other methods
// are not used.
type getBucket struct {
	Bucket
	rc  io.ReadCloser
	err error
}

func (b getBucket) Get(context.Context, string) (io.ReadCloser, error) { return b.rc, b.err }

// sized is a reader that reports a size, true or not.
type sized struct {
	io.Reader
	size   int64
	closed *bool
}

func (s sized) Size() int64  { return s.size }
func (s sized) Close() error { *s.closed = true; return nil }

func TestGetAll(t *testing.T) {
	data := []byte("0123456789")
	errRead := errors.New("read failed")
	tests := []struct {
		name    string
		r       io.Reader
		size    int64
		want    []byte
		wantErr bool
	}{
		{"exact size", bytes.NewReader(data), 10, data, false},
		{"empty", bytes.NewReader(nil), 0, []byte{}, false},
		{"unknown size", bytes.NewReader(data), -1, data, false},
		{"shorter than size", bytes.NewReader(data), 11, nil, true},
		{"empty, size 1", bytes.NewReader(nil), 1, nil, true},
		{"longer than size", bytes.NewReader(data), 9, nil, true},
		{"longer than size 0", bytes.NewReader(data), 0, nil, true},
		{"read error", io.MultiReader(bytes.NewReader(data[:3]), errReader{errRead}), 10, nil, true},
		{"read error, unknown size", io.MultiReader(bytes.NewReader(data[:3]), errReader{errRead}), -1, nil, true},
	}
	for _, tc := range tests {
		closed := false
		b := getBucket{rc: sized{tc.r, tc.size, &closed}}
		got, err := GetAll(context.Background(), b, "k")
		if tc.wantErr {
			if err == nil {
				t.Errorf("%s: GetAll = %q, want an error", tc.name, got)
			}
		} else if err != nil || !bytes.Equal(got, tc.want) {
			t.Errorf("%s: GetAll = %q, %v; want %q", tc.name, got, err, tc.want)
		}
		if !closed {
			t.Errorf("%s: reader not closed", tc.name)
		}
	}

	if _, err := GetAll(context.Background(), getBucket{err: ErrNotFound}, "k"); !errors.Is(err, ErrNotFound) {
		t.Errorf("GetAll of a missing object: %v, want ErrNotFound", err)
	}
	got, err := GetAll(context.Background(), getBucket{rc: io.NopCloser(bytes.NewReader(data))}, "k")
	if err != nil || !bytes.Equal(got, data) {
		t.Errorf("GetAll of a reader without Size = %q, %v", got, err)
	}
}

type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }
