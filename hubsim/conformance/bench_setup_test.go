package conformance_test

import (
	"crypto/tls"
	"encoding/binary"
	"log/slog"
	"net"
	"testing"
	"time"

	mqtt "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/packets"

	"github.com/cloudpillar/cloudpillar/hubsim"
	"github.com/cloudpillar/cloudpillar/hubsim/broker"
	"github.com/cloudpillar/cloudpillar/hubsim/hubtest"
	"github.com/cloudpillar/cloudpillar/internal/testpki"
)

// quietHub is a hub for benchmarks: logs off, events counted not kept.
func quietHub(b *testing.B) *hubsim.Hub {
	return hubtest.NewHub(b, hubsim.Config{Logger: slog.New(slog.DiscardHandler)})
}

// allowAll is the only hook of the baseline broker: mochi refuses every
// client without an auth hook. (mochi's own AllowHook package pulls a
// dependency this module does not have.)
type allowAll struct{ mqtt.HookBase }

func (allowAll) ID() string { return "allow-all" }
func (allowAll) Provides(b byte) bool {
	return b == mqtt.OnConnectAuthenticate || b == mqtt.OnACLCheck
}
func (allowAll) OnConnectAuthenticate(*mqtt.Client, packets.Packet) bool { return true }
func (allowAll) OnACLCheck(*mqtt.Client, string, bool) bool              { return true }

// rawMochi is the baseline: the same mochi version and capabilities, TLS
// on loopback, only an allow-all auth hook. It returns the address and the CA that signed its certificate.
func rawMochi(b *testing.B) (string, *testpki.CA) {
	ca, err := testpki.NewCA("raw mochi CA")
	must(b, err)
	cert, err := ca.IssueServer("localhost", "127.0.0.1")
	must(b, err)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	must(b, err)
	caps := mqtt.NewDefaultServerCapabilities()
	caps.MaximumClientWritesPending = 128
	caps.MaximumQos = 1
	srv := mqtt.New(&mqtt.Options{Capabilities: caps, Logger: slog.New(slog.DiscardHandler)})
	must(b, srv.AddHook(new(allowAll), nil))
	tl := tls.NewListener(ln, &tls.Config{Certificates: []tls.Certificate{cert}, ClientAuth: tls.RequestClientCert})
	must(b, srv.AddListener(broker.NewListener("raw", tl)))
	must(b, srv.Serve())
	b.Cleanup(func() { srv.Close() })
	return ln.Addr().String(), ca
}

// connectPacket is an MQTT 3.1.1 CONNECT (clean session, keep-alive 60 s)
// with a user name and no password.
func connectPacket(clientID, username string) []byte {
	var v []byte
	v = appendString(v, "MQTT")
	v = append(v, 4, 0x82, 0, 60) // level 4; flags: user name, clean session; keep-alive
	v = appendString(v, clientID)
	v = appendString(v, username)
	out := append([]byte{0x10}, binary.AppendUvarint(nil, uint64(len(v)))...)
	return append(out, v...)
}

func appendString(b []byte, s string) []byte {
	b = binary.BigEndian.AppendUint16(b, uint16(len(s)))
	return append(b, s...)
}

// rawConnect dials addr, sends CONNECT and waits for a CONNACK 0; it
// returns the open connection.
func rawConnect(tb testing.TB, addr string, cfg *tls.Config, clientID, username string) *tls.Conn {
	c, err := tls.Dial("tcp", addr, cfg)
	if err != nil {
		tb.Fatalf("dial: %v", err)
	}
	c.SetDeadline(time.Now().Add(waitFor))
	if _, err := c.Write(connectPacket(clientID, username)); err != nil {
		tb.Fatalf("CONNECT: %v", err)
	}
	var ack [4]byte
	if _, err := c.Read(ack[:]); err != nil || ack[0] != 0x20 || ack[3] != 0 {
		tb.Fatalf("CONNACK %x: %v", ack, err)
	}
	c.SetDeadline(time.Time{})
	return c
}

// handshakeOnly serves TLS with a certificate from the hub's CA and closes
// each connection after the handshake: the raw TLS baseline for connects.
func handshakeOnly(b *testing.B, h *hubsim.Hub) string {
	cert, err := h.CA().IssueServer(h.HostName(), "localhost", "127.0.0.1")
	must(b, err)
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{cert}, ClientAuth: tls.RequestClientCert})
	must(b, err)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				c.(*tls.Conn).Handshake()
				c.Close()
			}()
		}
	}()
	b.Cleanup(func() { ln.Close(); <-done })
	return ln.Addr().String()
}

// holdOpen serves TLS with a certificate from ca and keeps each connection
// open with one reading goroutine, as a server must, until the client
// closes it.
func holdOpen(b *testing.B, ca *testpki.CA) string {
	cert, err := ca.IssueServer("localhost", "127.0.0.1")
	must(b, err)
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{cert}, ClientAuth: tls.RequestClientCert})
	must(b, err)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				var buf [1]byte
				c.Read(buf[:]) // handshake, then wait for the client's close
				c.Close()
			}()
		}
	}()
	b.Cleanup(func() { ln.Close() })
	return ln.Addr().String()
}
