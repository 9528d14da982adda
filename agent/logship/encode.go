package logship

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
)

// Block layout (see the package doc): every block is one complete gzip
// member made from a contiguous range of the source file with a fresh
// compressor. Concatenated members are a valid gzip stream (RFC 1952 §2.2),
// so the committed blob decompresses to the whole (redacted) file, and
// block N can be made again from its source offset alone: no compressor
// state needs to survive a restart.

// gzipOverhead is the gzip header, final empty block and trailer that
// Close adds after the last flush.
const gzipOverhead = 32

// encoder compresses source ranges into blocks. It reuses its buffers, so
// its memory stays constant (about BlockSize plus the compressor) however
// large the file. Not safe for concurrent use.
type encoder struct {
	red       *Redactor
	blockSize int
	out       bytes.Buffer // the block being built
	gz        *gzip.Writer
	in        []byte // source batch buffer
	scratch   []byte // redacted batch
}

// newEncoder compresses at gzip.BestSpeed: the device's CPU matters more
// than the last bytes (about 70 MB/s on log text and 200 MB/s on
// incompressible data per core, against 10 and 30 at the default level).
func newEncoder(red *Redactor, blockSize int) *encoder {
	e := &encoder{red: red, blockSize: blockSize, in: make([]byte, batchSize(blockSize))}
	e.out.Grow(blockSize)
	e.gz, _ = gzip.NewWriterLevel(&e.out, gzip.BestSpeed)
	return e
}

// batchSize is the source bytes read (and flushed) at a time: small enough
// that one batch always fits in a block.
func batchSize(blockSize int) int { return min(64<<10, blockSize/4) }

// worst bounds the compressed size of n bytes after a flush: stored blocks
// cost 5 bytes per 64 KiB, and deflate never picks a larger encoding.
func worst(n int) int { return n + n/1024 + 64 }

// encoded is one block made by encode.
type encoded struct {
	data       []byte // the gzip member; valid until the next encode
	srcLen     int64  // source bytes it covers
	redactions int
}

// encode compresses from r, which starts at the block's source offset and
// ends at the end of the range it may cover, into one gzip member. It stops
// before the block would exceed blockSize or cover more than maxSrc source
// bytes; text is redacted and cut at line ends (a line longer than a batch
// is cut at the batch). Every byte that goes into the member is also
// written to content. Regenerating a recorded block is encode with r
// limited to its srcLen: the same batches, the same bytes.
func (e *encoder) encode(ctx context.Context, r io.Reader, text bool, maxSrc int64, content io.Writer) (encoded, error) {
	e.out.Reset()
	e.gz.Reset(&e.out)
	var b encoded
	filled := 0
	for {
		if err := ctx.Err(); err != nil {
			return encoded{}, context.Cause(ctx)
		}
		n, eof, err := fill(r, e.in, filled)
		if err != nil {
			return encoded{}, fmt.Errorf("%w: %w", errRead, err)
		}
		filled = n
		if filled == 0 {
			break
		}
		cut := cutAt(e.in[:filled], text, eof)
		batch := e.in[:cut]
		out, reds := batch, 0
		if text && e.red != nil {
			e.scratch, reds = e.red.Redact(e.scratch[:0], batch)
			out = e.scratch
		}
		full := e.out.Len()+worst(len(out))+gzipOverhead > e.blockSize || b.srcLen+int64(cut) > maxSrc
		if full && b.srcLen > 0 {
			break
		}
		if _, err := e.gz.Write(out); err != nil {
			return encoded{}, err
		}
		if err := e.gz.Flush(); err != nil {
			return encoded{}, err
		}
		if _, err := content.Write(out); err != nil {
			return encoded{}, err
		}
		b.srcLen += int64(cut)
		b.redactions += reds
		filled = copy(e.in, e.in[cut:filled])
	}
	if err := e.gz.Close(); err != nil {
		return encoded{}, err
	}
	if e.out.Len() > e.blockSize {
		return encoded{}, fmt.Errorf("block of %d bytes exceeds the %d-byte limit (redaction grew a batch)", e.out.Len(), e.blockSize)
	}
	b.data = e.out.Bytes()
	return b, nil
}

// fill reads into buf[filled:] until it is full or r ends; eof reports the
// end of r.
func fill(r io.Reader, buf []byte, filled int) (n int, eof bool, err error) {
	m, err := io.ReadFull(r, buf[filled:])
	n = filled + m
	switch {
	case err == nil:
		return n, false, nil
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return n, true, nil
	}
	return n, false, err
}

// cutAt is how much of a filled batch to take: for text, up to the last
// line end unless r ended or the batch holds no line end.
func cutAt(buf []byte, text, eof bool) int {
	if !text || eof {
		return len(buf)
	}
	if i := bytes.LastIndexByte(buf, '\n'); i >= 0 {
		return i + 1
	}
	return len(buf)
}
