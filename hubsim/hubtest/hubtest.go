package hubtest

import (
	"context"
	"crypto/tls"
	"fmt"
	"log/slog"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/cloudpillar/cloudpillar/agent/hub"
	"github.com/cloudpillar/cloudpillar/hubsim"
	"github.com/cloudpillar/cloudpillar/internal/testpki"
)

// NewHub starts a hub on a free loopback port and closes it at cleanup.
// Hub logs go to the test's output.
func NewHub(t testing.TB, cfg hubsim.Config) *hubsim.Hub {
	t.Helper()
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
	h, err := hubsim.New(cfg)
	if err != nil {
		t.Fatalf("hubsim.New: %v", err)
	}
	if err := h.Start(); err != nil {
		t.Fatalf("hub Start: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := h.Close(ctx); err != nil {
			t.Errorf("hub Close: %v", err)
		}
	})
	return h
}

// Device registers id in the hub and returns its client certificate.
func Device(t testing.TB, h *hubsim.Hub, id string) tls.Certificate {
	t.Helper()
	if err := h.CreateDevice(id); err != nil {
		t.Fatalf("CreateDevice(%q): %v", id, err)
	}
	return Cert(t, h.CA(), id)
}

// Cert issues a client certificate for id from ca (the hub's, or a foreign one).
func Cert(t testing.TB, ca *testpki.CA, id string) tls.Certificate {
	t.Helper()
	pair, err := ca.IssueDeviceTLS(id)
	if err != nil {
		t.Fatalf("issue certificate for %q: %v", id, err)
	}
	return pair
}

// SessionConfig is an agent/hub configuration for device id with cert,
// tuned for tests (short keep-alive and timeouts).
func SessionConfig(h *hubsim.Hub, id string, cert tls.Certificate) hub.Config {
	return hub.Config{
		DeviceID:       id,
		HostName:       h.HostName(),
		Address:        h.MQTTAddr(),
		RootCAs:        h.CA().Pool(),
		Certificate:    cert,
		KeepAlive:      2 * time.Second,
		PingTimeout:    time.Second,
		ConnectTimeout: 5 * time.Second,
	}
}

// RawOptions are paho options for a raw MQTT client that connects to the hub
// as device id, the way an Azure SDK does (PROTOCOL.md §1.2). Auto-reconnect
// is off so a refused or dropped connection stays visible.
func RawOptions(h *hubsim.Hub, id string, cert tls.Certificate) *paho.ClientOptions {
	o := paho.NewClientOptions()
	o.AddBroker("tls://" + h.MQTTAddr())
	o.SetClientID(id)
	o.SetUsername(fmt.Sprintf("%s/%s/?api-version=2021-04-12", h.HostName(), id))
	o.SetTLSConfig(&tls.Config{
		RootCAs:      h.CA().Pool(),
		Certificates: []tls.Certificate{cert},
		ServerName:   h.HostName(),
	})
	o.SetProtocolVersion(4)
	o.SetAutoReconnect(false)
	o.SetConnectRetry(false)
	o.SetConnectTimeout(5 * time.Second)
	return o
}

// Connect opens a raw client and fails the test if the hub refuses it.
// The client is disconnected at cleanup.
func Connect(t testing.TB, o *paho.ClientOptions) paho.Client {
	t.Helper()
	c := paho.NewClient(o)
	if err := Wait(c.Connect()); err != nil {
		t.Fatalf("connect as %s: %v", o.ClientID, err)
	}
	t.Cleanup(func() { c.Disconnect(100) })
	return c
}

// Wait waits up to 10 s for a paho token and returns its error.
func Wait(tok paho.Token) error {
	if !tok.WaitTimeout(10 * time.Second) {
		return fmt.Errorf("timed out after 10s")
	}
	return tok.Error()
}

// Eventually polls cond every 10 ms until it holds or timeout passes, then
// fails the test with msg.
func Eventually(t testing.TB, timeout time.Duration, cond func() bool, msg string, args ...any) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("after %v: "+msg, append([]any{timeout}, args...)...)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
