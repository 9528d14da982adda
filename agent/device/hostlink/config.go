package hostlink

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"runtime"
	"time"
)

// Defaults for Config fields left zero.
const (
	DefaultSocketPath  = "/run/cloudpillar/hostlink.sock"
	DefaultTCPAddress  = "127.0.0.1:47800"
	DefaultLinkTimeout = 30 * time.Second
	// MinTokenLength is the shortest bearer token accepted, in bytes.
	MinTokenLength = 16
	// MaxBodyBytes caps a request body (64 KiB).
	MaxBodyBytes = 64 << 10
)

// Networks accepted in Config.Network.
const (
	NetworkUnix = "unix"
	NetworkTCP  = "tcp"
)

// maxSocketPath is the longest Unix socket path the kernels we ship on
// accept (sun_path is 108 bytes on Linux, including the terminating NUL).
const maxSocketPath = 107

// ErrNotLoopback is returned by New for a TCP address that is not loopback.
var ErrNotLoopback = errors.New("hostlink listens only on loopback (127.0.0.0/8 or ::1) or a unix socket")

// Clock tells the time. time.Now satisfies it through SystemClock; tests
// and the harness pass their own.
type Clock interface {
	Now() time.Time
}

// SystemClock is the real clock.
type SystemClock struct{}

// Now returns time.Now().
func (SystemClock) Now() time.Time { return time.Now() }

// Config is what a Link needs. Zero values take the defaults stated on
// each field.
type Config struct {
	// Network is NetworkUnix or NetworkTCP. Empty: NetworkTCP on Windows,
	// NetworkUnix elsewhere.
	Network string
	// Address is the socket path for NetworkUnix (default
	// DefaultSocketPath) or host:port for NetworkTCP (default
	// DefaultTCPAddress). A TCP host must be a loopback IP or "localhost";
	// port 0 picks a free port (see Link.Addr).
	Address string
	// TokenFile holds the bearer token (surrounding white space ignored,
	// at least MinTokenLength bytes). Required. On Unix it must not be
	// readable or writable by group or others (mode 0600 or stricter).
	TokenFile string
	// LinkTimeout is how long after the last accepted start, stop or
	// heartbeat the case state becomes Unknown. Default 30 s.
	LinkTimeout time.Duration
	// Clock is the time source for the link timeout and timestamps. Nil =
	// SystemClock.
	Clock Clock
	// Logger receives structured logs. Nil discards them.
	Logger *slog.Logger
}

// validate fills defaults and rejects impossible settings.
func (c *Config) validate() error {
	if c.Network == "" {
		c.Network = NetworkUnix
		if runtime.GOOS == "windows" {
			c.Network = NetworkTCP
		}
	}
	switch c.Network {
	case NetworkUnix:
		if c.Address == "" {
			c.Address = DefaultSocketPath
		}
		if len(c.Address) > maxSocketPath {
			return fmt.Errorf("hostlink config: socket path %q is %d bytes; the limit is %d", c.Address, len(c.Address), maxSocketPath)
		}
	case NetworkTCP:
		if c.Address == "" {
			c.Address = DefaultTCPAddress
		}
		if err := checkLoopback(c.Address); err != nil {
			return fmt.Errorf("hostlink config: %w", err)
		}
	default:
		return fmt.Errorf("hostlink config: network %q: want %q or %q", c.Network, NetworkUnix, NetworkTCP)
	}
	if c.TokenFile == "" {
		return errors.New("hostlink config: token file is not set")
	}
	if c.LinkTimeout < 0 {
		return fmt.Errorf("hostlink config: link timeout %v is negative", c.LinkTimeout)
	}
	if c.LinkTimeout == 0 {
		c.LinkTimeout = DefaultLinkTimeout
	}
	if c.Clock == nil {
		c.Clock = SystemClock{}
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return nil
}

// checkLoopback accepts host:port only when host is a loopback IP literal
// or "localhost" (which it never resolves: the caller gets 127.0.0.1).
func checkLoopback(hostport string) error {
	host, _, err := net.SplitHostPort(hostport)
	if err != nil {
		return fmt.Errorf("tcp address %q: %w", hostport, err)
	}
	if host == "" {
		return fmt.Errorf("tcp address %q binds every interface: %w", hostport, ErrNotLoopback)
	}
	if host == "localhost" {
		return nil
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return fmt.Errorf("tcp address %q: host must be an IP literal such as 127.0.0.1: %w", hostport, ErrNotLoopback)
	}
	if !ip.Unmap().IsLoopback() {
		return fmt.Errorf("tcp address %q is not loopback: %w", hostport, ErrNotLoopback)
	}
	return nil
}

// tcpAddress maps "localhost" to 127.0.0.1 so that name resolution can
// never widen the bind.
func tcpAddress(hostport string) string {
	host, port, _ := net.SplitHostPort(hostport)
	if host == "localhost" {
		return net.JoinHostPort("127.0.0.1", port)
	}
	return hostport
}

// readToken reads and checks the bearer token file.
func readToken(path string) ([]byte, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("hostlink token file: %w", err)
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("hostlink token file %s is not a regular file", path)
	}
	if runtime.GOOS != "windows" && fi.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("hostlink token file %s has mode %04o; want 0600 (no access for group or others)", path, fi.Mode().Perm())
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("hostlink token file: %w", err)
	}
	tok := bytes.TrimSpace(b)
	if len(tok) < MinTokenLength {
		return nil, fmt.Errorf("hostlink token file %s holds %d bytes of token; want at least %d", path, len(tok), MinTokenLength)
	}
	if bytes.ContainsAny(tok, " \t\r\n") {
		return nil, fmt.Errorf("hostlink token file %s: the token contains white space", path)
	}
	return tok, nil
}
