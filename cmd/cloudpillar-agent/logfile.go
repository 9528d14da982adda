package main

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
)

// rotatingFile is an io.WriteCloser on a log file that rotates by size:
// when a write would take the file past maxBytes, agent.log becomes
// agent.log.1, agent.log.1 becomes agent.log.2 and so on, the oldest
// beyond maxFiles is removed, and a fresh agent.log is started. A write is
// never split across files (slog writes one record per Write), so a single
// record larger than maxBytes gets a file of its own.
//
// Safe for concurrent use; mu guards every field below it.
type rotatingFile struct {
	path     string
	maxBytes int64
	maxFiles int

	mu   sync.Mutex
	f    *os.File // nil after Close
	size int64
}

// openRotating opens (appending) or creates path, creating its directory.
func openRotating(path string, maxBytes int64, maxFiles int) (*rotatingFile, error) {
	if maxBytes <= 0 || maxFiles < 1 {
		return nil, fmt.Errorf("log file %s: max size %d and max files %d must be positive", path, maxBytes, maxFiles)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return nil, fmt.Errorf("log file: %w", err)
	}
	r := &rotatingFile{path: path, maxBytes: maxBytes, maxFiles: maxFiles}
	if err := r.openLocked(); err != nil {
		return nil, err
	}
	return r, nil
}

func (r *rotatingFile) openLocked() error {
	f, err := os.OpenFile(r.path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o640)
	if err != nil {
		return fmt.Errorf("log file: %w", err)
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return fmt.Errorf("log file: %w", err)
	}
	r.f, r.size = f, fi.Size()
	return nil
}

// Write appends p, rotating first if p would not fit.
func (r *rotatingFile) Write(p []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.f == nil {
		return 0, fs.ErrClosed
	}
	if r.size > 0 && r.size+int64(len(p)) > r.maxBytes {
		if err := r.rotateLocked(); err != nil && r.f == nil {
			return 0, err
		}
	}
	n, err := r.f.Write(p)
	r.size += int64(n)
	return n, err
}

// rotateLocked shifts the numbered files up by one and starts a fresh
// file. If a rename fails it carries on with the current file, so logging
// never stops because rotation did; r.f is nil only if no file could be
// reopened.
func (r *rotatingFile) rotateLocked() error {
	closeErr := r.f.Close()
	r.f = nil
	err := r.shift()
	if openErr := r.openLocked(); openErr != nil {
		return errors.Join(closeErr, err, openErr)
	}
	return errors.Join(closeErr, err)
}

// shift renames path.(n-1) to path.n for n = maxFiles..2, then path to
// path.1; the file at path.maxFiles is overwritten (removed first, for
// platforms where rename does not replace).
func (r *rotatingFile) shift() error {
	if err := os.Remove(r.numbered(r.maxFiles)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	for n := r.maxFiles; n >= 2; n-- {
		if err := os.Rename(r.numbered(n-1), r.numbered(n)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
	}
	return os.Rename(r.path, r.numbered(1))
}

func (r *rotatingFile) numbered(n int) string { return fmt.Sprintf("%s.%d", r.path, n) }

// Close syncs and closes the file; later writes fail. Safe to call twice.
func (r *rotatingFile) Close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.f == nil {
		return nil
	}
	err := errors.Join(r.f.Sync(), r.f.Close())
	r.f = nil
	return err
}

// openLogOutput is the log destination ls names: the rotating file, or
// stderr when no file is set. close flushes and closes the file.
func openLogOutput(ls logSettings, stderr io.Writer) (w io.Writer, close func() error, err error) {
	if ls.File == "" {
		return stderr, func() error { return nil }, nil
	}
	r, err := openRotating(ls.File, ls.MaxBytes, ls.MaxFiles)
	if err != nil {
		return nil, nil, err
	}
	return r, r.Close, nil
}

func newLogger(w io.Writer, level slog.Level, format string) *slog.Logger {
	opts := &slog.HandlerOptions{Level: level}
	if format == "text" {
		return slog.New(slog.NewTextHandler(w, opts))
	}
	return slog.New(slog.NewJSONHandler(w, opts))
}

func parseLevel(s string) (slog.Level, error) {
	var l slog.Level
	err := l.UnmarshalText([]byte(s))
	return l, err
}
