package update_test

import (
	"bytes"
	"errors"
	"io"
	"testing"

	"github.com/cloudpillar/cloudpillar/agent/update"
	"github.com/cloudpillar/cloudpillar/agent/update/updatetest"
)

// endless is an attacker's download: the same bytes forever.
type endless struct{ n int64 }

func (e *endless) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = 'x'
	}
	e.n += int64(len(p))
	return len(p), nil
}

// TestFileCheckerStreams: a streamed file must have exactly the declared
// size and SHA-256; more bytes than declared fail at once (TUF: endless
// data), tampered bytes fail at Done.
func TestFileCheckerStreams(t *testing.T) {
	entry := updatetest.File("rootfs.img", image)
	tampered := bytes.Clone(image)
	tampered[0] ^= 1
	tests := []struct {
		name   string
		chunks [][]byte
		write  update.Reason // expected on a Write, 0: none
		done   update.Reason // expected from Done, 0: success
	}{
		{"exact content in one write", [][]byte{image}, 0, 0},
		{"exact content byte by byte", split(image, 1), 0, 0},
		{"short file", [][]byte{image[:5]}, 0, update.ReasonFileSize},
		{"empty file", nil, 0, update.ReasonFileSize},
		{"one byte too many", [][]byte{image, {'!'}}, update.ReasonFileSize, update.ReasonFileSize},
		{"overflow inside one write", [][]byte{append(bytes.Clone(image), "more"...)}, update.ReasonFileSize, update.ReasonFileSize},
		{"tampered byte", [][]byte{tampered}, 0, update.ReasonFileHash},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := update.NewFileChecker(entry)
			var werr error
			for _, ch := range tc.chunks {
				if n, err := c.Write(ch); err != nil {
					werr = err
					if c.Written() != entry.SizeInBytes || n > len(ch) {
						t.Fatalf("Write took %d, Written %d, after the cap %d", n, c.Written(), entry.SizeInBytes)
					}
					break
				}
			}
			if tc.write == 0 && werr != nil || tc.write != 0 && !errors.Is(werr, tc.write) {
				t.Fatalf("Write error = %v, want %v", werr, tc.write)
			}
			if err := c.Done(); tc.done == 0 && err != nil || tc.done != 0 && !errors.Is(err, tc.done) {
				t.Fatalf("Done = %v, want %v", err, tc.done)
			}
		})
	}
}

// TestFileCheckerCutsOffEndlessStream: copying an endless stream stops at
// the declared size plus at most one buffer.
func TestFileCheckerCutsOffEndlessStream(t *testing.T) {
	entry := updatetest.File("big.img", bytes.Repeat([]byte("x"), 1<<20))
	src := &endless{}
	c := update.NewFileChecker(entry)
	n, err := io.Copy(c, src)
	if !errors.Is(err, update.ReasonFileSize) || n != entry.SizeInBytes || src.n > entry.SizeInBytes+64<<10 {
		t.Fatalf("io.Copy = %d, %v after reading %d; want the cap %d and a file-size error", n, err, src.n, entry.SizeInBytes)
	}
	if _, err := c.Write([]byte("x")); !errors.Is(err, update.ReasonFileSize) {
		t.Errorf("Write after overflow = %v, want sticky file-size error", err)
	}
}

func TestFileCheckerRefusesUnverifiedEntry(t *testing.T) {
	c := update.NewFileChecker(update.FileEntry{Name: "x", SizeInBytes: 1, Hashes: update.Hashes{SHA256: "nope"}})
	if _, err := c.Write([]byte("x")); !errors.Is(err, update.ReasonBadFileEntry) {
		t.Errorf("Write = %v, want bad-file-entry", err)
	}
	if err := c.Done(); !errors.Is(err, update.ReasonBadFileEntry) {
		t.Errorf("Done = %v, want bad-file-entry", err)
	}
}

func split(b []byte, n int) [][]byte {
	var out [][]byte
	for len(b) > 0 {
		k := min(n, len(b))
		out = append(out, b[:k])
		b = b[k:]
	}
	return out
}
