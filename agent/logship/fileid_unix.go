//go:build unix

package logship

import (
	"os"
	"syscall"
)

// identify returns the file's device and inode numbers.
func identify(_ *os.File, fi os.FileInfo) fileID {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return fileID{}
	}
	return fileID{Vol: uint64(st.Dev), Index: uint64(st.Ino)} //nolint:unconvert // Dev is int32 on some platforms
}

// openShared opens path for reading.
func openShared(path string) (*os.File, error) { return os.Open(path) }
