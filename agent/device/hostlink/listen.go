package hostlink

import (
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"time"
)

// socketMode is the Unix socket's file mode: the agent's user and group
// (the clinical software's group) may connect, nobody else.
const socketMode = 0o660

// staleDialTimeout bounds the probe that tells a stale socket file from a
// live one.
const staleDialTimeout = time.Second

// listen binds the configured endpoint.
func listen(c *Config) (net.Listener, error) {
	if c.Network == NetworkUnix {
		return listenUnix(c.Address)
	}
	return listenTCP(c.Address)
}

func listenTCP(addr string) (net.Listener, error) {
	ln, err := net.Listen("tcp", tcpAddress(addr))
	if err != nil {
		return nil, fmt.Errorf("hostlink listen: %w", err)
	}
	if a, ok := ln.Addr().(*net.TCPAddr); !ok || !a.IP.IsLoopback() {
		ln.Close()
		return nil, fmt.Errorf("hostlink listen: bound %v: %w", ln.Addr(), ErrNotLoopback)
	}
	return ln, nil
}

// listenUnix creates the socket's directory if needed, removes a stale
// socket file left by an earlier run, binds and sets the file mode.
func listenUnix(path string) (net.Listener, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return nil, fmt.Errorf("hostlink socket directory: %w", err)
	}
	if err := removeStale(path); err != nil {
		return nil, err
	}
	ln, err := net.Listen("unix", path)
	if err != nil {
		return nil, fmt.Errorf("hostlink listen: %w", err)
	}
	if runtime.GOOS != "windows" { // Windows ignores Unix modes; the directory's ACL applies
		if err := os.Chmod(path, socketMode); err != nil {
			ln.Close()
			return nil, fmt.Errorf("hostlink socket mode: %w", err)
		}
	}
	return ln, nil
}

// removeStale deletes path if it is a socket nobody is serving on. It
// refuses to delete anything else, and reports a live socket as in use.
func removeStale(path string) error {
	fi, err := os.Lstat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("hostlink socket: %w", err)
	}
	if fi.Mode()&fs.ModeSocket == 0 {
		return fmt.Errorf("hostlink socket: %s exists and is not a socket; refusing to remove it", path)
	}
	if conn, err := net.DialTimeout("unix", path, staleDialTimeout); err == nil {
		conn.Close()
		return fmt.Errorf("hostlink socket: %s is in use by another process", path)
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("hostlink socket: remove stale %s: %w", path, err)
	}
	return nil
}
