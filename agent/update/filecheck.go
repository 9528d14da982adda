package update

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
)

// FileChecker checks one payload file as it streams in: write the bytes
// to it (io.MultiWriter or io.TeeReader next to the destination), then
// call Done. It fails a Write as soon as the data exceeds the declared
// size, so an endless stream is cut off at that size. Build it only from a
// FileEntry of a verified Manifest. Not safe for concurrent use.
type FileChecker struct {
	name string
	size int64
	want []byte
	h    hash.Hash
	n    int64
	err  error // sticky
}

// NewFileChecker returns a checker for entry.
func NewFileChecker(entry FileEntry) *FileChecker {
	c := &FileChecker{name: entry.Name, size: entry.SizeInBytes, h: sha256.New()}
	want, err := entry.SHA256Sum()
	if err != nil {
		c.err = reject(ReasonBadFileEntry, err, "file %q", entry.Name)
	}
	c.want = want
	return c
}

// Write hashes p. Past the declared size it hashes only up to the size,
// returns the count it took and a ReasonFileSize error, and fails every
// later Write.
func (c *FileChecker) Write(p []byte) (int, error) {
	if c.err != nil {
		return 0, c.err
	}
	if room := c.size - c.n; int64(len(p)) > room {
		c.h.Write(p[:room])
		c.n += room
		c.err = reject(ReasonFileSize, nil, "file %q is longer than its declared %d bytes", c.name, c.size)
		return int(room), c.err
	}
	c.h.Write(p)
	c.n += int64(len(p))
	return len(p), nil
}

// ResumeFileChecker returns a checker for entry that continues after n
// bytes whose SHA-256 state is state (from State), so a download resumed
// after a restart hashes only the bytes it still fetches.
func ResumeFileChecker(entry FileEntry, n int64, state []byte) (*FileChecker, error) {
	c := NewFileChecker(entry)
	if c.err != nil {
		return nil, c.err
	}
	if n < 0 || n > c.size {
		return nil, fmt.Errorf("resume %q at %d bytes: outside 0-%d", entry.Name, n, c.size)
	}
	u, ok := c.h.(encoding.BinaryUnmarshaler)
	if !ok {
		return nil, errors.New("sha256 state cannot be restored")
	}
	if err := u.UnmarshalBinary(state); err != nil {
		return nil, fmt.Errorf("resume %q: sha256 state: %w", entry.Name, err)
	}
	// crypto/sha256's state ends with the count of bytes hashed.
	if len(state) < 8 || binary.BigEndian.Uint64(state[len(state)-8:]) != uint64(n) {
		return nil, fmt.Errorf("resume %q: sha256 state does not cover %d bytes", entry.Name, n)
	}
	c.n = n
	return c, nil
}

// State is the SHA-256 state after Written bytes, for ResumeFileChecker.
// It fails once the checker has failed.
func (c *FileChecker) State() ([]byte, error) {
	if c.err != nil {
		return nil, c.err
	}
	m, ok := c.h.(encoding.BinaryMarshaler)
	if !ok {
		return nil, errors.New("sha256 state cannot be saved")
	}
	return m.MarshalBinary()
}

// Written is the number of bytes accepted so far.
func (c *FileChecker) Written() int64 { return c.n }

// Done reports whether exactly the declared bytes with the declared
// SHA-256 were written.
func (c *FileChecker) Done() error {
	if c.err != nil {
		return c.err
	}
	if c.n != c.size {
		return reject(ReasonFileSize, nil, "file %q is %d bytes, declared %d", c.name, c.n, c.size)
	}
	if subtle.ConstantTimeCompare(c.h.Sum(nil), c.want) != 1 {
		return reject(ReasonFileHash, nil, "file %q does not match its declared sha256", c.name)
	}
	return nil
}
