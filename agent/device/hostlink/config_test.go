package hostlink

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

func TestNewRefusesNonLoopbackAddresses(t *testing.T) {
	tok := writeToken(t, testToken, 0o600)
	for _, addr := range []string{
		"0.0.0.0:0", ":0", "[::]:0", "192.168.1.10:0", "10.0.0.1:47800", "8.8.8.8:53",
		"example.com:0", "[fe80::1]:0", "[::ffff:10.0.0.1]:0",
	} {
		t.Run(addr, func(t *testing.T) {
			l, err := New(Config{Network: NetworkTCP, Address: addr, TokenFile: tok})
			if err == nil {
				l.Close(context.Background())
				t.Fatalf("New(%q) bound %s, want ErrNotLoopback", addr, l.Addr())
			}
			if !errors.Is(err, ErrNotLoopback) || !strings.Contains(err.Error(), addr) {
				t.Fatalf("New(%q) = %v, want ErrNotLoopback naming the address", addr, err)
			}
		})
	}
}

func TestCheckLoopbackAcceptsLoopback(t *testing.T) {
	for _, addr := range []string{"127.0.0.1:47800", "127.0.0.2:1", "[::1]:0", "localhost:0", "[::ffff:127.0.0.1]:0"} {
		if err := checkLoopback(addr); err != nil {
			t.Errorf("checkLoopback(%q) = %v, want nil", addr, err)
		}
	}
	if got := tcpAddress("localhost:47800"); got != "127.0.0.1:47800" {
		t.Errorf("tcpAddress(localhost:47800) = %q, want 127.0.0.1:47800", got)
	}
}

func TestNewBindsLocalhostAsIPv4Loopback(t *testing.T) {
	l, err := New(Config{Network: NetworkTCP, Address: "localhost:0", TokenFile: writeToken(t, testToken, 0o600)})
	if err != nil {
		t.Fatalf("New(localhost:0): %v", err)
	}
	defer l.Close(context.Background())
	if !strings.HasPrefix(l.Addr(), "127.0.0.1:") {
		t.Fatalf("Addr = %q, want 127.0.0.1:<port>", l.Addr())
	}
}

func TestConfigDefaultsAndErrors(t *testing.T) {
	c := Config{TokenFile: "x"}
	if err := c.validate(); err != nil {
		t.Fatal(err)
	}
	wantNet, wantAddr := NetworkUnix, DefaultSocketPath
	if runtime.GOOS == "windows" {
		wantNet, wantAddr = NetworkTCP, DefaultTCPAddress
	}
	if c.Network != wantNet || c.Address != wantAddr || c.LinkTimeout != DefaultLinkTimeout || c.Clock == nil || c.Logger == nil {
		t.Fatalf("defaults = %+v", c)
	}
	tcp := Config{Network: NetworkTCP, TokenFile: "x"}
	if err := tcp.validate(); err != nil || tcp.Address != DefaultTCPAddress {
		t.Fatalf("tcp defaults: %v, address %q", err, tcp.Address)
	}
	tests := []struct {
		name string
		cfg  Config
		want string
	}{
		{"no token file", Config{Network: NetworkTCP}, "token file is not set"},
		{"bad network", Config{Network: "udp", TokenFile: "x"}, `network "udp"`},
		{"negative timeout", Config{Network: NetworkTCP, TokenFile: "x", LinkTimeout: -time.Second}, "negative"},
		{"long socket path", Config{Network: NetworkUnix, Address: "/" + strings.Repeat("s", 120), TokenFile: "x"}, "the limit is 107"},
		{"tcp without port", Config{Network: NetworkTCP, Address: "127.0.0.1", TokenFile: "x"}, "missing port"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.cfg.validate()
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("validate() = %v, want error containing %q", err, tc.want)
			}
		})
	}
}

func TestReadTokenChecksTheFile(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name    string
		content string
		perm    os.FileMode
		want    string // error text; "" = accepted
		unix    bool   // mode checks apply on Unix only
	}{
		{"good, trailing newline", testToken + "\r\n", 0o600, "", false},
		{"read-only owner", testToken, 0o400, "", false},
		{"group readable", testToken, 0o640, "has mode 0640; want 0600", true},
		{"world readable", testToken, 0o644, "has mode 0644; want 0600", true},
		{"too short", "short-token", 0o600, "holds 11 bytes of token; want at least 16", false},
		{"empty", "\n", 0o600, "holds 0 bytes", false},
		{"inner space", "0123456789 abcdef0123", 0o600, "contains white space", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.unix && runtime.GOOS == "windows" {
				t.Skip("file modes are not enforced on Windows")
			}
			path := writeToken(t, tc.content, tc.perm)
			tok, err := readToken(path)
			if tc.want == "" {
				if err != nil || string(tok) != testToken {
					t.Fatalf("readToken = %q, %v; want the token", tok, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("readToken = %v, want error containing %q", err, tc.want)
			}
		})
	}
	if _, err := readToken(filepath.Join(dir, "missing")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("readToken(missing) = %v, want ErrNotExist", err)
	}
	if _, err := readToken(dir); err == nil || !strings.Contains(err.Error(), "not a regular file") {
		t.Errorf("readToken(dir) = %v, want 'not a regular file'", err)
	}
}

func TestNewFailsOnBadTokenFile(t *testing.T) {
	_, err := New(Config{Network: NetworkTCP, Address: "127.0.0.1:0", TokenFile: filepath.Join(t.TempDir(), "none")})
	if !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("New with a missing token file = %v, want ErrNotExist", err)
	}
}
