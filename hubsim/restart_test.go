package hubsim_test

import (
	"context"
	"crypto/tls"
	"errors"
	"log/slog"
	"net"
	"syscall"
	"testing"
	"time"

	"github.com/cloudpillar/cloudpillar/agent"
	"github.com/cloudpillar/cloudpillar/agent/backoff"
	"github.com/cloudpillar/cloudpillar/agent/telemetry"
	"github.com/cloudpillar/cloudpillar/hubsim"
	"github.com/cloudpillar/cloudpillar/hubsim/dps"
	"github.com/cloudpillar/cloudpillar/hubsim/hubtest"
	"github.com/cloudpillar/cloudpillar/internal/agenttest"
	"github.com/cloudpillar/cloudpillar/internal/leakcheck"
	"github.com/cloudpillar/cloudpillar/internal/testpki"
)

// runAgent runs the real agent for device id with cert, sampling every
// 50 ms, reconnecting within half a second. stop ends it (idempotent; also
// at cleanup).
func runAgent(t *testing.T, h *hubsim.Hub, id string, cert tls.Certificate) (a *agent.Agent, stop func()) {
	t.Helper()
	a, stop = agenttest.Run(t, agent.Config{
		Hub:               hubtest.SessionConfig(h, id, cert),
		TelemetryInterval: 50 * time.Millisecond,
		Boot:              3,
		Backoff:           backoff.Policy{Base: 50 * time.Millisecond, Cap: 500 * time.Millisecond},
		Logger:            slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn})),
	})
	return a, stop
}

// checkDelivery checks, with the agent stopped, that every message it
// accepted reached the hub and that the hub's duplicate count is exactly
// the repeats of the agent's ids (REQ-NET-001, REQ-NET-003).
func checkDelivery(t *testing.T, h *hubsim.Hub, a *agent.Agent, id string) {
	t.Helper()
	var lost, recorded, repeats int64
	for seq := uint64(1); seq <= uint64(a.Stats().Accepted); seq++ {
		n := int64(h.Events().Seen(id, telemetry.MessageID(id, a.Boot(), seq)))
		if n == 0 {
			lost++
		}
		recorded += n
		repeats += max(0, n-1)
	}
	st := h.Events().Stats()
	if lost > 0 || st.Received != recorded || st.Duplicates != repeats {
		t.Fatalf("of %d accepted: %d lost; hub recorded %d (%d with known ids), %d duplicates (ids show %d)",
			a.Stats().Accepted, lost, st.Received, recorded, st.Duplicates, repeats)
	}
	t.Logf("%d accepted, %d recorded, %d duplicates", a.Stats().Accepted, st.Received, st.Duplicates)
}

// refused reports whether a TCP dial to addr is refused.
func refused(addr string) bool {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err == nil {
		c.Close()
	}
	return errors.Is(err, syscall.ECONNREFUSED)
}

// TestRestartLosesNoTelemetryAndTheAgentReconnects (REQ-NET-003): while the
// hub is down the device is dropped and dials to every endpoint are
// refused; afterwards the hub serves on the same addresses, the agent is
// back by itself and every message it accepted reached the hub, repeats
// counted exactly.
func TestRestartLosesNoTelemetryAndTheAgentReconnects(t *testing.T) {
	leakcheck.Check(t, 10*time.Second)
	h := hubtest.NewHub(t, hubsim.Config{})
	a, stop := runAgent(t, h, "dev-r", hubtest.Device(t, h, "dev-r"))
	hubtest.Eventually(t, 15*time.Second, func() bool { return a.Stats().Delivered >= 5 }, "agent delivered fewer than 5 messages")
	mqttAddr, httpsAddr := h.MQTTAddr(), h.HTTPSAddr()

	const down = 2 * time.Second
	start := time.Now()
	errc := make(chan error, 1)
	go func() { errc <- h.Restart(context.Background(), down) }()
	hubtest.Eventually(t, 5*time.Second, func() bool { return h.Restarts() == 1 && h.Registry().ConnectedCount() == 0 },
		"the device is still connected after the hub went down")
	if time.Since(start) < down/2 { // else this machine is too slow to look inside the down time
		for _, addr := range []string{mqttAddr, httpsAddr} {
			if !refused(addr) {
				t.Errorf("a dial to %s while the hub is down was not refused", addr)
			}
		}
	}
	if err := <-errc; err != nil {
		t.Fatalf("Restart = %v", err)
	}
	if took := time.Since(start); took < down {
		t.Errorf("Restart returned after %v, want at least %v down", took, down)
	}
	if h.MQTTAddr() != mqttAddr || h.HTTPSAddr() != httpsAddr {
		t.Fatalf("addresses after restart %s %s, want %s %s", h.MQTTAddr(), h.HTTPSAddr(), mqttAddr, httpsAddr)
	}
	hubtest.Eventually(t, 20*time.Second, func() bool {
		d, err := h.Registry().Get("dev-r")
		return err == nil && d.Connected && d.ConnectionStateUpdatedTime.After(start) && a.Stats().Connects >= 2
	}, "the agent did not reconnect after the restart")
	if _, err := serviceClient(t, h).GetDevice(ctxT(t), "dev-r"); err != nil {
		t.Errorf("REST GetDevice after the restart: %v", err)
	}
	accepted := a.Stats().Accepted
	hubtest.Eventually(t, 20*time.Second, func() bool { return a.Stats().Delivered >= accepted && a.Stats().Pending == 0 },
		"the agent did not drain its store after the restart")
	stop()
	checkDelivery(t, h, a, "dev-r")
}

// TestRestartResetsConnectionsAndKeepsDPS: a restart resets live
// connections (no DISCONNECT, a TCP reset) on the hub and its DPS, both
// come back on the same addresses, and a device provisions and connects
// afterwards.
func TestRestartResetsConnectionsAndKeepsDPS(t *testing.T) {
	leakcheck.Check(t, 10*time.Second)
	lab, err := testpki.NewLabPKI(testpki.LabOptions{})
	if err != nil {
		t.Fatal(err)
	}
	h := newDPSHub(t, lab, dps.Config{HTTPSAddr: "127.0.0.1:0"})
	addrs := []string{h.MQTTAddr(), h.HTTPSAddr(), h.DPSAddr(), h.DPS().HTTPSAddr()}
	var conns []*tls.Conn
	for _, addr := range addrs {
		c, err := tls.Dial("tcp", addr, &tls.Config{RootCAs: h.CA().Pool(), ServerName: "localhost"})
		if err != nil {
			t.Fatalf("TLS dial %s: %v", addr, err)
		}
		defer c.Close()
		conns = append(conns, c)
	}
	if err := h.Restart(t.Context(), 100*time.Millisecond); err != nil {
		t.Fatalf("Restart = %v", err)
	}
	for i, c := range conns {
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		if _, err := c.Read(make([]byte, 1)); !errors.Is(err, syscall.ECONNRESET) {
			t.Errorf("read on a connection to %s across the restart: %v, want a reset", addrs[i], err)
		}
	}
	got := []string{h.MQTTAddr(), h.HTTPSAddr(), h.DPSAddr(), h.DPS().HTTPSAddr()}
	for i := range addrs {
		if got[i] != addrs[i] {
			t.Errorf("address %d after restart = %s, want %s", i, got[i], addrs[i])
		}
	}
	boot, _ := lab.IssueBootstrap("carto-0009", "")
	_, opCert := provisionDevice(t, h, boot.TLS(), "carto-0009")
	hubtest.Connect(t, hubtest.RawOptions(h, "carto-0009", opCert))
}

// TestRestartOnACallerListener: on a listener the hub cannot reopen, a
// connection made while down is closed at once, and devices come back
// afterwards.
func TestRestartOnACallerListener(t *testing.T) {
	leakcheck.Check(t, 10*time.Second)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	h := hubtest.NewHub(t, hubsim.Config{MQTTListener: ln})
	a, _ := runAgent(t, h, "dev-l", hubtest.Device(t, h, "dev-l"))
	hubtest.Eventually(t, 15*time.Second, func() bool { return a.Stats().Connected }, "agent not connected")
	errc := make(chan error, 1)
	go func() { errc <- h.Restart(context.Background(), time.Second) }()
	hubtest.Eventually(t, 5*time.Second, func() bool { return h.Registry().ConnectedCount() == 0 }, "device still connected")
	if c, err := net.DialTimeout("tcp", h.MQTTAddr(), time.Second); err == nil {
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		var ne net.Error
		if _, err := c.Read(make([]byte, 1)); err == nil || errors.As(err, &ne) && ne.Timeout() {
			t.Errorf("a connection while down was kept open: read = %v, want EOF or a reset", err)
		}
		c.Close()
	}
	if err := <-errc; err != nil {
		t.Fatalf("Restart = %v", err)
	}
	hubtest.Eventually(t, 20*time.Second, func() bool { return h.Connected("dev-l") && a.Stats().Connects >= 2 },
		"the agent did not reconnect")
}

func TestRestartNeedsARunningHub(t *testing.T) {
	leakcheck.Check(t, 10*time.Second)
	h, err := hubsim.New(hubsim.Config{})
	if err != nil {
		t.Fatal(err)
	}
	if err := h.Restart(t.Context(), 0); !errors.Is(err, hubsim.ErrNotRunning) {
		t.Errorf("Restart before Start = %v, want ErrNotRunning", err)
	}
	if err := h.Start(); err != nil {
		t.Fatal(err)
	}
	if err := h.Close(t.Context()); err != nil {
		t.Fatal(err)
	}
	if err := h.Restart(t.Context(), 0); !errors.Is(err, hubsim.ErrNotRunning) {
		t.Errorf("Restart after Close = %v, want ErrNotRunning", err)
	}
	if h.Restarts() != 0 {
		t.Errorf("Restarts = %d, want 0", h.Restarts())
	}
}

// TestCloseEndsARestartsDownTime: closing the hub while it is down ends
// the restart at once.
func TestCloseEndsARestartsDownTime(t *testing.T) {
	leakcheck.Check(t, 10*time.Second)
	h, err := hubsim.New(hubsim.Config{})
	if err != nil {
		t.Fatal(err)
	}
	if err := h.Start(); err != nil {
		t.Fatal(err)
	}
	errc := make(chan error, 1)
	go func() { errc <- h.Restart(context.Background(), time.Hour) }()
	hubtest.Eventually(t, 5*time.Second, func() bool { return h.Restarts() == 1 }, "restart did not begin")
	if err := h.Close(t.Context()); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-errc:
		if !errors.Is(err, hubsim.ErrNotRunning) {
			t.Errorf("Restart interrupted by Close = %v, want ErrNotRunning", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Restart still down 10s after Close")
	}
}
