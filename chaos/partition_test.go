package chaos

import (
	"bytes"
	"errors"
	"io"
	"net"
	"os"
	"testing"
	"time"

	"github.com/cloudpillar/cloudpillar/internal/leakcheck"
)

// goWrite starts one Write of p on c.
func goWrite(c net.Conn, p []byte) <-chan result {
	ch := make(chan result, 1)
	go func() {
		n, err := c.Write(p)
		ch <- result{p[:n], err}
	}()
	return ch
}

func TestPartitionHoldsWritesAndDeliversThemInOrderAfterHeal(t *testing.T) {
	payloads := []struct {
		name string
		msgs [][]byte
	}{
		{"small messages", [][]byte{[]byte("one,"), []byte("two,"), []byte("three,")}},
		{"larger than a flush chunk", [][]byte{pattern(3*flushChunk + 7), []byte("end")}},
	}
	for _, tr := range transports {
		for _, pl := range payloads {
			t.Run(tr.name+"/"+pl.name, func(t *testing.T) {
				leakcheck.Check(t, waitTimeout)
				n, dev, peer := wrapped(t, tr)
				n.Partition("lyon")
				for _, m := range pl.msgs {
					if k, err := dev.Write(m); k != len(m) || err != nil {
						t.Fatalf("Write(%d bytes) = %d, %v during partition; want %d, nil", len(m), k, err, len(m))
					}
				}
				expectNothing(t, peer)
				n.Heal("lyon")
				after := goWrite(dev, []byte("after-heal"))
				want := bytes.Join(pl.msgs, nil)
				if got := readExactly(t, peer, len(want)); !bytes.Equal(got, want) {
					t.Fatalf("peer read %d bytes after heal, not the held writes in order", len(got))
				}
				if got := readExactly(t, peer, len("after-heal")); string(got) != "after-heal" {
					t.Fatalf("peer read %q after the held bytes, want %q", got, "after-heal")
				}
				if r := await(t, after); r.err != nil {
					t.Fatalf("Write after heal: %v", r.err)
				}
			})
		}
	}
}

func TestFullSendBufferBlocksWrite(t *testing.T) {
	const buf, size = 1024, 3000
	tests := []struct {
		name    string
		release func(n *Network, dev net.Conn)
		wantN   int
		wantErr error
	}{
		{"until the write deadline", func(*Network, net.Conn) {}, buf, os.ErrDeadlineExceeded},
		{"until heal", func(n *Network, _ net.Conn) { n.Heal("lyon") }, size, nil},
		{"until close", func(_ *Network, dev net.Conn) { dev.Close() }, buf, net.ErrClosed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			leakcheck.Check(t, waitTimeout)
			n := NewNetwork(nil)
			n.SendBuffer = buf
			raw, peer := pipePair(t)
			dev := n.Wrap("lyon", raw)
			defer dev.Close()
			if tc.wantErr == os.ErrDeadlineExceeded {
				dev.SetWriteDeadline(time.Now().Add(quiet))
			}
			n.Partition("lyon")
			w := goWrite(dev, pattern(size))
			if tc.wantErr != os.ErrDeadlineExceeded {
				pending(t, w, "Write on a full send buffer")
			}
			tc.release(n, dev)
			if tc.wantErr == nil {
				if got := readExactly(t, peer, size); !bytes.Equal(got, pattern(size)) {
					t.Fatal("peer did not get the blocked write in order")
				}
			}
			r := await(t, w)
			if len(r.data) != tc.wantN || !errors.Is(r.err, tc.wantErr) {
				t.Fatalf("Write = %d, %v; want %d, %v", len(r.data), r.err, tc.wantN, tc.wantErr)
			}
		})
	}
}

func TestPartitionHoldsReadsUntilHeal(t *testing.T) {
	tests := []struct {
		name string
		peer func(peer net.Conn) // acts during the partition
		want result
	}{
		{"data", func(p net.Conn) { p.Write([]byte("ping")) }, result{data: []byte("ping")}},
		{"peer close (no FIN crosses)", func(p net.Conn) { p.Close() }, result{data: []byte{}, err: io.EOF}},
	}
	for _, tc := range tests {
		t.Run(tc.name+"/read blocked before partition", func(t *testing.T) {
			leakcheck.Check(t, waitTimeout)
			n := NewNetwork(nil)
			raw, peer := pipePair(t)
			entering := &enteringConn{Conn: raw, reading: make(chan struct{}, 1)}
			dev := n.Wrap("lyon", entering)
			defer dev.Close()
			r := goRead(dev, 64)
			<-entering.reading
			n.Partition("lyon")
			tc.peer(peer)
			pending(t, r, "Read")
			n.Heal("lyon")
			checkResult(t, await(t, r), tc.want)
		})
		t.Run(tc.name+"/read started during partition", func(t *testing.T) {
			leakcheck.Check(t, waitTimeout)
			n, dev, peer := wrapped(t, transports[1]) // tcp: the peer's write lands in kernel buffers
			n.Partition("lyon")
			r := goRead(dev, 64)
			tc.peer(peer)
			pending(t, r, "Read")
			n.Heal("lyon")
			checkResult(t, await(t, r), tc.want)
		})
	}
}

// checkResult compares a Read's outcome with want.
func checkResult(t testing.TB, got, want result) {
	t.Helper()
	if !bytes.Equal(got.data, want.data) || !errors.Is(got.err, want.err) {
		t.Fatalf("Read after heal = %q, %v; want %q, %v", got.data, got.err, want.data, want.err)
	}
}

func TestReadDeadlineDuringPartition(t *testing.T) {
	tests := []struct {
		name     string
		held     string // sent by the peer into a Read blocked before the partition
		deadline func() time.Time
	}{
		{"nothing held", "", func() time.Time { return time.Now().Add(quiet) }},
		{"deadline already passed", "", func() time.Time { return time.Now().Add(-time.Second) }},
		{"data held, deadline set while waiting", "late", func() time.Time { return time.Now().Add(quiet) }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			leakcheck.Check(t, waitTimeout)
			n := NewNetwork(nil)
			raw, peer := pipePair(t)
			entering := &enteringConn{Conn: raw, reading: make(chan struct{}, 1)}
			dev := n.Wrap("lyon", entering)
			defer dev.Close()
			var r <-chan result
			if tc.held != "" {
				r = goRead(dev, 64)
				<-entering.reading
			}
			n.Partition("lyon")
			if tc.held != "" {
				peer.Write([]byte(tc.held))
			}
			dev.SetReadDeadline(tc.deadline())
			if r == nil {
				r = goRead(dev, 64)
			}
			checkTimeout(t, await(t, r))
			dev.SetReadDeadline(time.Time{})
			n.Heal("lyon")
			if tc.held != "" {
				if got := readExactly(t, dev, len(tc.held)); string(got) != tc.held {
					t.Fatalf("Read after heal = %q, want the held %q", got, tc.held)
				}
			}
		})
	}
}

// checkTimeout fails unless r is an empty Read that hit its deadline.
func checkTimeout(t testing.TB, r result) {
	t.Helper()
	var ne net.Error
	if len(r.data) != 0 || !errors.Is(r.err, os.ErrDeadlineExceeded) || !errors.As(r.err, &ne) || !ne.Timeout() {
		t.Fatalf("Read during partition = %q, %v; want a timeout", r.data, r.err)
	}
}

func TestRepartitionDuringFlushKeepsOrder(t *testing.T) {
	leakcheck.Check(t, waitTimeout)
	n, dev, peer := wrapped(t, transports[0])
	first := pattern(4 * flushChunk)
	n.Partition("lyon")
	dev.Write(first)
	n.Heal("lyon")
	got := readExactly(t, peer, 10) // the flush is running
	n.Partition("lyon")
	if _, err := dev.Write([]byte("tail")); err != nil {
		t.Fatalf("Write during the second partition: %v", err)
	}
	all := drain(peer)
	n.Heal("lyon")
	waitFor(t, "the flush to finish", func() bool { return dev.(*conn).slow.Load() == false })
	dev.Close()
	got = append(got, <-all...)
	if want := append(first, "tail"...); !bytes.Equal(got, want) {
		t.Fatalf("peer got %d bytes, want %d bytes in write order", len(got), len(want))
	}
}

func TestPartitionLeavesOtherSitesAlone(t *testing.T) {
	leakcheck.Check(t, waitTimeout)
	n := NewNetwork(nil)
	lyonRaw, lyonPeer := tcpPair(t)
	parisRaw, parisPeer := tcpPair(t)
	lyon, paris := n.Wrap("lyon", lyonRaw), n.Wrap("paris", parisRaw)
	defer lyon.Close()
	defer paris.Close()
	n.Partition("lyon")
	if !n.Partitioned("lyon") || n.Partitioned("paris") || n.Partitioned("nowhere") {
		t.Fatalf("Partitioned(lyon, paris, nowhere) = %v, %v, %v; want true, false, false",
			n.Partitioned("lyon"), n.Partitioned("paris"), n.Partitioned("nowhere"))
	}
	lyon.Write([]byte("held"))
	paris.Write([]byte("up"))
	parisPeer.Write([]byte("down"))
	if got := readExactly(t, parisPeer, 2); string(got) != "up" {
		t.Fatalf("paris peer read %q, want %q", got, "up")
	}
	if got := readExactly(t, paris, 4); string(got) != "down" {
		t.Fatalf("paris read %q, want %q", got, "down")
	}
	expectNothing(t, lyonPeer)
}
