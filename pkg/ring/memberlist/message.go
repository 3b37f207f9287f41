package memberlist

import (
	"encoding/binary"
	"errors"
	"fmt"
	"slices"

	"github.com/skald-logs/skald/pkg/ring"
)

// The two byte formats this package sends. Both start with a version byte.
//
// A message (a broadcast or a TCP send) carries part or all of one key's ring:
//
//	version=1 | uvarint len(key) | key | ring.Desc encoding (to the end)
//
// The state exchanged on push/pull carries every key:
//
//	version=1 | uvarint count | count × (uvarint len(key) | key | uvarint len(desc) | desc)
const formatVersion = 1

// maxKeyLen bounds a key, so a corrupt length cannot ask for much memory.
const maxKeyLen = 256

// ErrInvalidMessage is returned for bytes that are not a message or a state.
var ErrInvalidMessage = errors.New("invalid ring gossip message")

func appendMessage(b []byte, key string, d *ring.Desc) ([]byte, error) {
	b = append(b, formatVersion)
	b = binary.AppendUvarint(b, uint64(len(key)))
	b = append(b, key...)
	return d.AppendBinary(b)
}

func decodeMessage(b []byte) (string, *ring.Desc, error) {
	if len(b) == 0 || b[0] != formatVersion {
		return "", nil, fmt.Errorf("%w: unknown version", ErrInvalidMessage)
	}
	key, rest, err := readKey(b[1:])
	if err != nil {
		return "", nil, err
	}
	d, err := ring.DecodeDesc(rest)
	if err != nil {
		return "", nil, fmt.Errorf("%w: key %q: %w", ErrInvalidMessage, key, err)
	}
	return key, d, nil
}

func encodeState(values map[string]*ring.Desc) ([]byte, error) {
	keys := make([]string, 0, len(values))
	for k := range values {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	b := []byte{formatVersion}
	b = binary.AppendUvarint(b, uint64(len(keys)))
	var desc []byte
	for _, k := range keys {
		var err error
		if desc, err = values[k].AppendBinary(desc[:0]); err != nil {
			return nil, err
		}
		b = binary.AppendUvarint(b, uint64(len(k)))
		b = append(b, k...)
		b = binary.AppendUvarint(b, uint64(len(desc)))
		b = append(b, desc...)
	}
	return b, nil
}

func decodeState(b []byte) (map[string]*ring.Desc, error) {
	if len(b) == 0 || b[0] != formatVersion {
		return nil, fmt.Errorf("%w: unknown version", ErrInvalidMessage)
	}
	b = b[1:]
	n, k := binary.Uvarint(b)
	if k <= 0 || n > uint64(len(b)) {
		return nil, fmt.Errorf("%w: bad key count", ErrInvalidMessage)
	}
	b = b[k:]
	out := make(map[string]*ring.Desc, n)
	for range n {
		key, rest, err := readKey(b)
		if err != nil {
			return nil, err
		}
		l, k := binary.Uvarint(rest)
		if k <= 0 || l > uint64(len(rest)-k) {
			return nil, fmt.Errorf("%w: bad length of key %q", ErrInvalidMessage, key)
		}
		d, err := ring.DecodeDesc(rest[k : k+int(l)])
		if err != nil {
			return nil, fmt.Errorf("%w: key %q: %w", ErrInvalidMessage, key, err)
		}
		if prev, ok := out[key]; ok {
			prev.Merge(d)
		} else {
			out[key] = d
		}
		b = rest[k+int(l):]
	}
	if len(b) != 0 {
		return nil, fmt.Errorf("%w: %d trailing bytes", ErrInvalidMessage, len(b))
	}
	return out, nil
}

func readKey(b []byte) (string, []byte, error) {
	l, k := binary.Uvarint(b)
	if k <= 0 || l > maxKeyLen || l > uint64(len(b)-k) {
		return "", nil, fmt.Errorf("%w: bad key length", ErrInvalidMessage)
	}
	return string(b[k : k+int(l)]), b[k+int(l):], nil
}
