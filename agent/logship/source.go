package logship

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"
)

// fileID identifies a file independently of its name (device and inode on
// Unix, volume serial and file index on Windows), so a rotated log is
// recognised under its new name. Zero: unknown.
type fileID struct {
	Vol   uint64 `json:"vol"`
	Index uint64 `json:"index"`
}

func (id fileID) zero() bool { return id == fileID{} }

// snapshot is a source file as it was when its upload started: exactly
// Size bytes are uploaded, however the file grows meanwhile.
type snapshot struct {
	Path    string    `json:"path"` // current name (changes when the file is rotated)
	ID      fileID    `json:"id"`
	Size    int64     `json:"size"`
	ModTime time.Time `json:"modTime"`
}

// opener opens a file for reading (openShared; tests replace it to make a
// file unreadable even for root).
type opener func(path string) (*os.File, error)

// take records path's identity and size now.
func take(open opener, path string) (snapshot, error) {
	f, err := open(path)
	if err != nil {
		return snapshot{}, sourceErr(err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return snapshot{}, fmt.Errorf("%w: %w", errRead, err)
	}
	if !fi.Mode().IsRegular() {
		return snapshot{}, fmt.Errorf("%w: not a regular file", errRead)
	}
	return snapshot{Path: path, ID: identify(f, fi), Size: fi.Size(), ModTime: fi.ModTime().UTC()}, nil
}

// sourceErr maps an open error: a missing file is ErrSourceGone, anything
// else (permission denied, I/O error) an unreadable file.
func sourceErr(err error) error {
	if errors.Is(err, fs.ErrNotExist) {
		return ErrSourceGone
	}
	return fmt.Errorf("%w: %w", errRead, err)
}

// section is an open source range; Close closes the file.
type section struct {
	io.Reader
	f *os.File
}

func (s section) Close() error { return s.f.Close() }

// open opens the snapshot's file for the source range [off, off+n). If the
// file at Path is no longer the same file (rotated), the folder is searched
// for it by identity and Path follows it. A file shorter than the snapshot
// is ErrSourceTruncated; one that is gone, ErrSourceGone.
func (s *snapshot) open(open opener, off, n int64) (section, error) {
	f, err := open(s.Path)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return section{}, sourceErr(err)
	}
	if err == nil {
		fi, serr := f.Stat()
		if serr == nil && (s.ID.zero() || identify(f, fi) == s.ID) {
			return s.positioned(f, fi, off, n)
		}
		f.Close()
	}
	moved := s.find(open)
	if moved == "" {
		return section{}, ErrSourceGone
	}
	s.Path = moved
	return s.open(open, off, n)
}

func (s *snapshot) positioned(f *os.File, fi os.FileInfo, off, n int64) (section, error) {
	if fi.Size() < s.Size {
		f.Close()
		return section{}, ErrSourceTruncated
	}
	return section{Reader: io.NewSectionReader(f, off, n), f: f}, nil
}

// find looks in the snapshot's folder for the file with its identity.
func (s *snapshot) find(open opener) string {
	if s.ID.zero() {
		return ""
	}
	dir := filepath.Dir(s.Path)
	entries, err := os.ReadDir(dir)
	if err != nil {
		return ""
	}
	for _, e := range entries {
		if !e.Type().IsRegular() {
			continue
		}
		p := filepath.Join(dir, e.Name())
		f, err := open(p)
		if err != nil {
			continue
		}
		fi, err := f.Stat()
		same := err == nil && identify(f, fi) == s.ID
		f.Close()
		if same {
			return p
		}
	}
	return ""
}
