package broker_test

import (
	"log/slog"
	"net"
	"testing"
	"time"

	mqtt "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/packets"

	"github.com/cloudpillar/cloudpillar/hubsim/broker"
)

// TestBrokerCloseDoesNotWaitForAHalfOpenedConnection: a device that has
// opened its connection but not yet sent CONNECT when the broker stops
// must not keep the broker's Close waiting (mochi only disconnects clients
// that finished CONNECT, then waits for every connection).
func TestBrokerCloseDoesNotWaitForAHalfOpenedConnection(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := mqtt.New(&mqtt.Options{InlineClient: false, Logger: slog.New(slog.DiscardHandler)})
	if err := srv.AddHook(new(allowAll), nil); err != nil {
		t.Fatal(err)
	}
	l := broker.NewListener("t", ln)
	if err := srv.AddListener(l); err != nil {
		t.Fatal(err)
	}
	if err := srv.Serve(); err != nil {
		t.Fatal(err)
	}
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Write([]byte{0x10}); err != nil { // the first byte of a CONNECT, and no more
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Close() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("the broker's Close is still waiting for a connection that never sent CONNECT")
	}
	// The half-opened connection was closed by the broker.
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := c.Read(make([]byte, 1)); err == nil {
		t.Fatal("the half-opened connection is still open after Close")
	}
}

// allowAll lets every client in.
type allowAll struct{ mqtt.HookBase }

func (allowAll) ID() string { return "allow-all" }

func (allowAll) Provides(b byte) bool { return b == mqtt.OnConnectAuthenticate || b == mqtt.OnACLCheck }

func (allowAll) OnConnectAuthenticate(*mqtt.Client, packets.Packet) bool { return true }

func (allowAll) OnACLCheck(*mqtt.Client, string, bool) bool { return true }
