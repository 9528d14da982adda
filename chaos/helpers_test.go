package chaos

import (
	"bytes"
	"io"
	"net"
	"testing"
	"time"
)

// waitTimeout bounds every poll in these tests.
const waitTimeout = 5 * time.Second

// quiet is how long a test watches for something that must not happen.
const quiet = 50 * time.Millisecond

// waitFor polls cond until it holds or waitTimeout passes.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(waitTimeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// transport makes a connected pair of conns: the device end and the peer.
type transport struct {
	name string
	pair func(t testing.TB) (device, peer net.Conn)
}

var transports = []transport{
	{"pipe", pipePair},
	{"tcp", tcpPair},
}

// pipePair returns the two ends of a net.Pipe, closed at cleanup.
func pipePair(t testing.TB) (net.Conn, net.Conn) {
	a, b := net.Pipe()
	t.Cleanup(func() { a.Close(); b.Close() })
	return a, b
}

// tcpPair returns both ends of a loopback TCP connection, closed at cleanup.
func tcpPair(t testing.TB) (net.Conn, net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, _ := ln.Accept()
		accepted <- c
	}()
	a, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	b := <-accepted
	if b == nil {
		t.Fatal("accept failed")
	}
	t.Cleanup(func() { a.Close(); b.Close() })
	return a, b
}

// wrapped returns a network, a wrapped device conn in site "lyon" and its peer.
func wrapped(t testing.TB, tr transport) (*Network, net.Conn, net.Conn) {
	t.Helper()
	n := NewNetwork(nil)
	dev, peer := tr.pair(t)
	c := n.Wrap("lyon", dev)
	t.Cleanup(func() { c.Close() })
	return n, c, peer
}

// readExactly reads n bytes from c within waitTimeout.
func readExactly(t testing.TB, c net.Conn, n int) []byte {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(waitTimeout))
	defer c.SetReadDeadline(time.Time{})
	buf := make([]byte, n)
	if _, err := io.ReadFull(c, buf); err != nil {
		t.Fatalf("read %d bytes: %v (got %q)", n, err, buf)
	}
	return buf
}

// expectNothing fails if c delivers any byte or EOF within quiet.
func expectNothing(t testing.TB, c net.Conn) {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(quiet))
	defer c.SetReadDeadline(time.Time{})
	buf := make([]byte, 64)
	if n, err := c.Read(buf); !isTimeout(err) {
		t.Fatalf("Read = %d, %q, %v; want nothing until the deadline", n, buf[:n], err)
	}
}

// result is the outcome of an I/O call made in a goroutine.
type result struct {
	data []byte
	err  error
}

// goRead starts one Read of up to size bytes on c.
func goRead(c net.Conn, size int) <-chan result {
	ch := make(chan result, 1)
	go func() {
		buf := make([]byte, size)
		n, err := c.Read(buf)
		ch <- result{buf[:n], err}
	}()
	return ch
}

// await returns the result of ch within waitTimeout.
func await(t testing.TB, ch <-chan result) result {
	t.Helper()
	select {
	case r := <-ch:
		return r
	case <-time.After(waitTimeout):
		t.Fatal("I/O did not return")
		return result{}
	}
}

// pending fails if ch delivers within quiet.
func pending(t testing.TB, ch <-chan result, what string) {
	t.Helper()
	select {
	case r := <-ch:
		t.Fatalf("%s returned %q, %v during the partition", what, r.data, r.err)
	case <-time.After(quiet):
	}
}

// enteringConn signals each time a Read enters the underlying conn.
type enteringConn struct {
	net.Conn
	reading chan struct{}
}

func (c *enteringConn) Read(p []byte) (int, error) {
	c.reading <- struct{}{}
	return c.Conn.Read(p)
}

// pattern returns n bytes of a repeating, position-dependent pattern.
func pattern(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i % 251)
	}
	return b
}

// drain copies everything from c into a buffer until EOF or error.
func drain(c net.Conn) <-chan []byte {
	ch := make(chan []byte, 1)
	go func() {
		var buf bytes.Buffer
		io.Copy(&buf, c)
		ch <- buf.Bytes()
	}()
	return ch
}
