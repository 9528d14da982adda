package hostlink

import (
	"context"
	"errors"
	"net"
	"net/http"
	"testing"
	"time"
)

func newTCPLink(t *testing.T) *Link {
	t.Helper()
	l, err := New(Config{Network: NetworkTCP, Address: "127.0.0.1:0", TokenFile: writeToken(t, testToken, 0o600)})
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func TestCloseWithoutServeReleasesTheListener(t *testing.T) {
	l := newTCPLink(t)
	addr := l.Addr()
	if err := l.Close(context.Background()); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := l.Close(context.Background()); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if err := l.Serve(context.Background()); !errors.Is(err, ErrClosed) {
		t.Fatalf("Serve after Close = %v, want ErrClosed", err)
	}
	ln, err := net.Listen("tcp", addr) // the port is free again
	if err != nil {
		t.Fatalf("listen on the released %s: %v", addr, err)
	}
	ln.Close()
}

func TestServeReturnsNilWhenContextEnds(t *testing.T) {
	l := newTCPLink(t)
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- l.Serve(ctx) }()
	waitServing(t, l)
	if err := l.Serve(context.Background()); !errors.Is(err, ErrServing) {
		t.Fatalf("second Serve = %v, want ErrServing", err)
	}
	cancel()
	select {
	case err := <-served:
		if err != nil {
			t.Fatalf("Serve = %v, want nil", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Serve did not return after its context ended")
	}
	if err := l.Close(context.Background()); err != nil {
		t.Fatalf("Close after Serve returned: %v", err)
	}
}

func TestCloseStopsServe(t *testing.T) {
	l := newTCPLink(t)
	served := make(chan error, 1)
	go func() { served <- l.Serve(context.Background()) }()
	waitServing(t, l)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := l.Close(ctx); err != nil {
		t.Fatalf("Close: %v", err)
	}
	select {
	case err := <-served: // Close waited for it, so it is already there
		if err != nil {
			t.Fatalf("Serve = %v, want nil", err)
		}
	default:
		t.Fatal("Close returned before Serve did")
	}
}

// waitServing polls until the link answers a request.
func waitServing(t *testing.T, l *Link) {
	t.Helper()
	c := clientFor(l)
	defer c.CloseIdleConnections()
	deadline := time.Now().Add(10 * time.Second)
	for {
		req, _ := http.NewRequest(http.MethodGet, "http://"+l.Addr()+PathStatus, nil)
		req.Header.Set("Authorization", "Bearer "+testToken)
		resp, err := c.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("link at %s not serving after 10 s: %v", l.Addr(), err)
		}
		time.Sleep(10 * time.Millisecond) // polling interval, not synchronisation
	}
}
