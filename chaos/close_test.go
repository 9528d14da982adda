package chaos

import (
	"bytes"
	"errors"
	"net"
	"runtime"
	"testing"

	"github.com/cloudpillar/cloudpillar/internal/leakcheck"
)

func TestCloseDuringPartitionDefersUnderlyingCloseUntilHeal(t *testing.T) {
	for _, tr := range transports {
		t.Run(tr.name, func(t *testing.T) {
			leakcheck.Check(t, waitTimeout)
			n, dev, peer := wrapped(t, tr)
			n.Partition("lyon")
			dev.Write([]byte("dropped"))
			if err := dev.Close(); err != nil {
				t.Fatalf("Close during partition: %v", err)
			}
			if err := dev.Close(); err != nil {
				t.Fatalf("second Close: %v, want nil", err)
			}
			if _, err := dev.Read(make([]byte, 1)); !errors.Is(err, net.ErrClosed) {
				t.Fatalf("Read after Close = %v, want net.ErrClosed", err)
			}
			if _, err := dev.Write([]byte("x")); !errors.Is(err, net.ErrClosed) {
				t.Fatalf("Write after Close = %v, want net.ErrClosed", err)
			}
			expectNothing(t, peer) // no FIN crosses the blackhole
			if got := n.Conns("lyon"); got != 1 {
				t.Fatalf("Conns = %d before heal, want 1 (underlying still open)", got)
			}
			rest := drain(peer)
			n.Heal("lyon")
			if got := <-rest; len(got) != 0 {
				t.Fatalf("peer read %q after heal, want EOF without the dropped writes", got)
			}
			waitFor(t, "Conns = 0", func() bool { return n.Conns("lyon") == 0 })
		})
	}
}

func TestCloseUnblocksPendingIOWithErrClosed(t *testing.T) {
	tests := []struct {
		name      string
		partition bool
		blocked   bool // Read entered the underlying conn before the partition
	}{
		{"healthy, read blocked in underlying conn", false, true},
		{"partitioned, read waiting for heal", true, false},
		{"partitioned, read blocked in underlying conn", true, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			leakcheck.Check(t, waitTimeout)
			n := NewNetwork(nil)
			raw, _ := pipePair(t)
			entering := &enteringConn{Conn: raw, reading: make(chan struct{}, 1)}
			dev := n.Wrap("lyon", entering)
			var r <-chan result
			if tc.blocked {
				r = goRead(dev, 8)
				<-entering.reading
			}
			if tc.partition {
				n.Partition("lyon")
			}
			if r == nil {
				r = goRead(dev, 8)
				pending(t, r, "Read")
			}
			dev.Close()
			if got := await(t, r); !errors.Is(got.err, net.ErrClosed) {
				t.Fatalf("pending Read after Close = %q, %v; want net.ErrClosed", got.data, got.err)
			}
			n.Heal("lyon")
			waitFor(t, "Conns = 0", func() bool { return n.Conns("lyon") == 0 })
		})
	}
}

func TestCloseAfterHealDeliversHeldWritesThenEOF(t *testing.T) {
	leakcheck.Check(t, waitTimeout)
	n, dev, peer := wrapped(t, transports[0])
	held := pattern(100 << 10)
	n.Partition("lyon")
	dev.Write(held)
	n.Heal("lyon")
	dev.Close() // the flush is still blocked on the pipe
	if got := <-drain(peer); !bytes.Equal(got, held) {
		t.Fatalf("peer got %d bytes before EOF, want the %d held bytes", len(got), len(held))
	}
	waitFor(t, "Conns = 0", func() bool { return n.Conns("lyon") == 0 })
}

func TestClosedConnsLeaveNoBookkeeping(t *testing.T) {
	leakcheck.Check(t, waitTimeout)
	const perSite = 1000
	n := NewNetwork(nil)
	var devs []net.Conn
	for i := range 2 * perSite {
		dev, peer := net.Pipe()
		defer peer.Close()
		devs = append(devs, n.Wrap([]string{"lyon", "paris"}[i%2], dev))
	}
	n.Partition("lyon")
	for _, c := range devs {
		c.Close()
	}
	if got := n.Conns("paris"); got != 0 {
		t.Errorf("Conns(paris) = %d after Close, want 0", got)
	}
	if got := n.Conns("lyon"); got != perSite {
		t.Errorf("Conns(lyon) = %d after Close during partition, want %d", got, perSite)
	}
	n.Heal("lyon")
	if got := n.Conns("lyon"); got != 0 {
		t.Errorf("Conns(lyon) = %d after heal, want 0", got)
	}
}

func TestHealthyWrapperStartsNoGoroutines(t *testing.T) {
	leakcheck.Check(t, waitTimeout)
	n := NewNetwork(nil)
	dev, peer := tcpPair(t)
	c := n.Wrap("lyon", dev)
	defer c.Close()
	base := runtime.NumGoroutine()
	for i := range 100 {
		c.Write([]byte{byte(i)})
		peer.Write([]byte{byte(i)})
		if got := readExactly(t, c, 1); got[0] != byte(i) {
			t.Fatalf("round %d: wrapper read %d", i, got[0])
		}
		readExactly(t, peer, 1)
	}
	var conns []net.Conn
	for range 1000 {
		a, b := net.Pipe()
		conns = append(conns, n.Wrap("paris", a), b)
	}
	if got := runtime.NumGoroutine(); got > base {
		t.Errorf("NumGoroutine = %d after healthy I/O and 1000 wraps, want at most %d", got, base)
	}
	for _, c := range conns {
		c.Close()
	}
}
