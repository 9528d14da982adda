package logship

import (
	"bytes"
	"context"
	"crypto/sha256"
	"io"
	"testing"
)

// encodeAll cuts src into blocks the way an upload does and returns them.
func encodeAll(t *testing.T, e *encoder, src []byte, text bool) (blocks [][]byte, lens []int64) {
	t.Helper()
	var off int64
	for first := true; first || off < int64(len(src)); first = false {
		b, err := e.encode(context.Background(), bytes.NewReader(src[off:]), text, DefaultMaxBlockSource, io.Discard)
		if err != nil {
			t.Fatal(err)
		}
		if b.srcLen == 0 && len(src) > 0 {
			t.Fatalf("block at %d covers no source bytes", off)
		}
		blocks = append(blocks, bytes.Clone(b.data))
		lens = append(lens, b.srcLen)
		off += b.srcLen
	}
	return blocks, lens
}

// TestBlocksAreGzipMembersThatConcatenateToTheFile: whatever the data and
// the block size, every block fits the limit, text blocks end at line
// ends, and the concatenated blocks are one gzip stream of the file.
func TestBlocksAreGzipMembersThatConcatenateToTheFile(t *testing.T) {
	tests := []struct {
		name      string
		src       []byte
		text      bool
		blockSize int
	}{
		{"incompressible, 16 KiB blocks", noise(40, 300<<10), false, 16 << 10},
		{"incompressible, 4 MiB blocks", noise(41, 9<<20), false, MaxBlockSize},
		{"log text, 64 KiB blocks", logText(42, 2<<20), true, 64 << 10},
		{"one long line", bytes.Repeat([]byte("x"), 200<<10), true, 16 << 10},
		{"zeros", make([]byte, 5<<20), false, 16 << 10},
		{"empty", nil, true, 16 << 10},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEncoder(nil, tc.blockSize)
			blocks, lens := encodeAll(t, e, tc.src, tc.text)
			var all []byte
			var off int64
			for i, b := range blocks {
				if len(b) > tc.blockSize {
					t.Fatalf("block %d is %d bytes, limit %d", i, len(b), tc.blockSize)
				}
				off += lens[i]
				if tc.text && i < len(blocks)-1 && off > 0 && tc.src[off-1] != '\n' && bytes.IndexByte(tc.src, '\n') >= 0 {
					t.Errorf("text block %d ends mid-line", i)
				}
				all = append(all, b...)
			}
			if got := gunzip(t, all); !bytes.Equal(got, tc.src) {
				t.Fatalf("blocks decompress to %d bytes, want %d", len(got), len(tc.src))
			}
			t.Logf("%d bytes -> %d blocks, %d compressed", len(tc.src), len(blocks), len(all))
		})
	}
}

// TestABlockRegeneratesIdentically: encoding a recorded source range again
// (resume, repair) gives the same bytes, redaction included.
func TestABlockRegeneratesIdentically(t *testing.T) {
	src := append(logText(43, 400<<10), []byte("Patient: A. Person MRN#1234567\n")...)
	src = append(src, logText(44, 200<<10)...)
	red := MustRedactor(DefaultPatterns()...)
	e := newEncoder(red, 64<<10)
	blocks, lens := encodeAll(t, e, src, true)
	var off int64
	for i, want := range blocks {
		b, err := e.encode(context.Background(), io.LimitReader(bytes.NewReader(src[off:]), lens[i]), true, lens[i], io.Discard)
		if err != nil {
			t.Fatal(err)
		}
		if sha256.Sum256(b.data) != sha256.Sum256(want) || b.srcLen != lens[i] {
			t.Fatalf("block %d regenerated differently", i)
		}
		off += lens[i]
	}
}

func TestEncodeStopsWhenCancelled(t *testing.T) {
	ctx, cancel := context.WithCancelCause(context.Background())
	cancel(ErrPaused)
	_, err := newEncoder(nil, 64<<10).encode(ctx, bytes.NewReader(noise(45, 1<<20)), false, DefaultMaxBlockSource, io.Discard)
	if err != ErrPaused {
		t.Fatalf("encode after a pause: %v, want ErrPaused", err)
	}
}

func BenchmarkEncode(b *testing.B) {
	for _, tc := range []struct {
		name string
		src  []byte
		text bool
	}{{"logText", logText(46, 32<<20), true}, {"noise", noise(47, 32<<20), false}} {
		b.Run(tc.name, func(b *testing.B) {
			e := newEncoder(MustRedactor(DefaultPatterns()...), MaxBlockSize)
			b.SetBytes(int64(len(tc.src)))
			for b.Loop() {
				var off int64
				for off < int64(len(tc.src)) {
					blk, err := e.encode(context.Background(), bytes.NewReader(tc.src[off:]), tc.text, DefaultMaxBlockSource, io.Discard)
					if err != nil {
						b.Fatal(err)
					}
					off += blk.srcLen
				}
			}
		})
	}
}
