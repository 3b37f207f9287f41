package chunk

import (
	"errors"
	"fmt"
)

// Defaults, as in Loki's chunk_block_size and chunk_target_size.
const (
	DefaultBlockSize  = 256 << 10 // uncompressed bytes per block
	DefaultTargetSize = 1572864   // compressed bytes per chunk (1.5 MiB)

	// MaxBlockSize bounds Config.BlockSize.
	MaxBlockSize = 16 << 20
	// MaxEntrySize bounds the size of one entry (see EntrySize); Append
	// refuses larger entries with ErrEntryTooLarge.
	MaxEntrySize = 16 << 20
	// maxPayloadLen bounds the uncompressed length of a block payload that a
	// decoder accepts. A block holds less than BlockSize bytes plus one entry,
	// plus a few bytes of framing per entry.
	maxPayloadLen = 64 << 20
)

// Errors returned by this package.
var (
	// ErrCorrupt marks encoded bytes that are not a valid chunk: bad magic,
	// unsupported version or encoding, checksum mismatch, bounds or lengths
	// that do not add up, or a block that does not decompress or parse.
	ErrCorrupt = errors.New("corrupt chunk")
	// ErrEntryTooLarge is returned by Append for an entry larger than
	// MaxEntrySize.
	ErrEntryTooLarge = errors.New("entry too large for a chunk")
	// ErrInvalidConfig is returned by Config.Validate.
	ErrInvalidConfig = errors.New("invalid chunk config")
)

// Config shapes the chunks a MemChunk builds. Zero fields take the defaults.
type Config struct {
	// BlockSize is the uncompressed size (see EntrySize) at which the head
	// block is cut into a compressed block. Default 256 KiB.
	BlockSize int `yaml:"block_size"`
	// TargetSize is the compressed size at which the chunk reports IsFull.
	// Default 1.5 MiB.
	TargetSize int `yaml:"target_size"`
	// Encoding compresses the blocks. Default snappy.
	Encoding Encoding `yaml:"encoding"`
	// EncodeBlockSize is the block size Encode writes when it differs from
	// BlockSize: a chunk kept in small blocks to save memory is re-cut into
	// larger ones when it is flushed, which compresses better. 0 means
	// BlockSize.
	EncodeBlockSize int `yaml:"encode_block_size"`
}

// encodeBlockSize is the block size of encoded chunks.
func (c Config) encodeBlockSize() int {
	if c.EncodeBlockSize > 0 {
		return c.EncodeBlockSize
	}
	return c.BlockSize
}

// DefaultConfig returns the defaults: 256 KiB blocks, 1.5 MiB chunks, snappy.
func DefaultConfig() Config {
	return Config{BlockSize: DefaultBlockSize, TargetSize: DefaultTargetSize, Encoding: EncodingSnappy}
}

// Validate reports a config that NewMemChunk cannot honour.
func (c Config) Validate() error {
	if c.EncodeBlockSize < 0 || c.EncodeBlockSize > MaxBlockSize {
		return fmt.Errorf("%w: encode block size %d out of range (0 for the block size, at most %d)", ErrInvalidConfig, c.EncodeBlockSize, MaxBlockSize)
	}
	if c.BlockSize < 0 || c.BlockSize > MaxBlockSize {
		return fmt.Errorf("%w: block size %d out of range (0 for the default, at most %d)", ErrInvalidConfig, c.BlockSize, MaxBlockSize)
	}
	if c.TargetSize < 0 {
		return fmt.Errorf("%w: negative target size %d", ErrInvalidConfig, c.TargetSize)
	}
	if c.Encoding != 0 && codecFor(c.Encoding) == nil {
		return fmt.Errorf("%w: unknown encoding %d", ErrInvalidConfig, c.Encoding)
	}
	return nil
}

// withDefaults fills the zero fields.
func (c Config) withDefaults() Config {
	if c.BlockSize == 0 {
		c.BlockSize = DefaultBlockSize
	}
	if c.TargetSize == 0 {
		c.TargetSize = DefaultTargetSize
	}
	if c.Encoding == 0 {
		c.Encoding = EncodingSnappy
	}
	return c
}
