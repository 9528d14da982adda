package chaos

import (
	"bytes"
	"io"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/cloudpillar/cloudpillar/internal/leakcheck"
)

// TestPartitionChurnDeliversEveryByteInOrder flaps a site while data flows
// both ways: whatever the timing, each side must receive exactly what the
// other sent, in order.
func TestPartitionChurnDeliversEveryByteInOrder(t *testing.T) {
	for _, tr := range transports {
		t.Run(tr.name, func(t *testing.T) {
			leakcheck.Check(t, waitTimeout)
			n := NewNetwork(nil)
			n.SendBuffer = 4 << 10 // small, so writers also block on a full buffer
			raw, peer := tr.pair(t)
			dev := n.Wrap("lyon", raw)
			defer dev.Close()
			want := pattern(2 << 20)
			stop := make(chan struct{})
			flapped := make(chan struct{})
			go func() {
				defer close(flapped)
				flap(n, stop)
			}()
			var wg sync.WaitGroup
			var up, down []byte
			wg.Go(func() { writeAll(t, dev, want) })
			wg.Go(func() { writeAll(t, peer, want) })
			wg.Go(func() { up = readAll(t, peer, len(want)) })
			wg.Go(func() { down = readAll(t, dev, len(want)) })
			wg.Wait()
			close(stop)
			<-flapped
			if !bytes.Equal(up, want) || !bytes.Equal(down, want) {
				t.Fatalf("peer got %d bytes, device got %d; want %d each, in order", len(up), len(down), len(want))
			}
			t.Logf("%d partitions", n.Timeline().Count(KindPartition))
			if n.Timeline().Count(KindPartition) == 0 {
				t.Fatal("the site never flapped")
			}
		})
	}
}

// flap partitions and heals the site until stop, ending healed.
func flap(n *Network, stop <-chan struct{}) {
	for {
		n.Partition("lyon")
		time.Sleep(100 * time.Microsecond) // fault duration, not synchronisation
		n.Heal("lyon")
		select {
		case <-stop:
			return
		case <-time.After(100 * time.Microsecond):
		}
	}
}

// writeAll writes p in uneven chunks.
func writeAll(t testing.TB, c net.Conn, p []byte) {
	for len(p) > 0 {
		k := min(len(p), 1000+len(p)%3000)
		if _, err := c.Write(p[:k]); err != nil {
			t.Errorf("write: %v", err)
			return
		}
		p = p[k:]
	}
}

// readAll reads n bytes within waitTimeout.
func readAll(t testing.TB, c net.Conn, n int) []byte {
	c.SetReadDeadline(time.Now().Add(waitTimeout))
	buf := make([]byte, n)
	k, err := io.ReadFull(c, buf)
	if err != nil {
		t.Errorf("read after %d of %d bytes: %v", k, n, err)
	}
	return buf[:k]
}
