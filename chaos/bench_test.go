package chaos

import (
	"fmt"
	"io"
	"net"
	"testing"
)

// BenchmarkWrapPassThrough compares the throughput of a raw conn with the
// same conn wrapped in a healthy site: the difference is the wrapper's cost.
func BenchmarkWrapPassThrough(b *testing.B) {
	for _, tr := range transports {
		for _, size := range []int{64, 32 << 10} {
			for _, wrap := range []bool{false, true} {
				name := tr.name + "/" + sizeName(size) + "/raw"
				if wrap {
					name = tr.name + "/" + sizeName(size) + "/wrapped"
				}
				b.Run(name, func(b *testing.B) { benchWrite(b, tr, size, wrap) })
			}
		}
	}
}

func sizeName(n int) string {
	if n >= 1<<10 {
		return fmt.Sprintf("%dKiB", n>>10)
	}
	return fmt.Sprintf("%dB", n)
}

// benchWrite writes size-byte chunks into one end while the peer drains.
func benchWrite(b *testing.B, tr transport, size int, wrap bool) {
	dev, peer := tr.pair(b)
	var c net.Conn = dev
	if wrap {
		c = NewNetwork(nil).Wrap("lyon", dev)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		io.Copy(io.Discard, peer)
	}()
	buf := pattern(size)
	b.SetBytes(int64(size))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.Write(buf); err != nil {
			b.Fatal(err)
		}
	}
	c.Close()
	<-done
}

// nopConn is a net.Conn whose I/O completes at once, to isolate the
// wrapper's own cost from the transport's.
type nopConn struct{ net.Conn }

func (nopConn) Read(p []byte) (int, error)  { return len(p), nil }
func (nopConn) Write(p []byte) (int, error) { return len(p), nil }
func (nopConn) Close() error                { return nil }

// BenchmarkWrapOverhead measures the healthy fast path alone: one Write and
// one Read on a conn that does nothing, raw and wrapped.
func BenchmarkWrapOverhead(b *testing.B) {
	for _, wrap := range []bool{false, true} {
		name := "raw"
		var c net.Conn = nopConn{}
		if wrap {
			name, c = "wrapped", NewNetwork(nil).Wrap("lyon", nopConn{})
		}
		b.Run(name, func(b *testing.B) {
			buf := make([]byte, 64)
			b.ReportAllocs()
			for b.Loop() {
				c.Write(buf)
				c.Read(buf)
			}
		})
	}
}
