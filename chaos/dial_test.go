package chaos

import (
	"context"
	"errors"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cloudpillar/cloudpillar/internal/leakcheck"
)

// listen returns a loopback listener whose accepted conns are closed at
// cleanup, with its accept loop stopped.
func listen(t testing.TB) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		var accepted []net.Conn
		defer func() {
			for _, c := range accepted {
				c.Close()
			}
		}()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			accepted = append(accepted, c)
		}
	}()
	t.Cleanup(func() { ln.Close(); <-done })
	return ln
}

func TestDialThroughSite(t *testing.T) {
	tests := []struct {
		name      string
		partition bool
		timeout   time.Duration
		heal      bool // heal once the dial is waiting
		wantErr   error
	}{
		{"healthy site dials at once", false, waitTimeout, false, nil},
		{"partitioned until the context ends", true, quiet, false, context.DeadlineExceeded},
		{"partitioned, healed while waiting", true, waitTimeout, true, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			leakcheck.Check(t, waitTimeout)
			ln := listen(t)
			n := NewNetwork(nil)
			var dials atomic.Int32
			dial := n.Dialer("lyon", func(ctx context.Context, network, addr string) (net.Conn, error) {
				dials.Add(1)
				var d net.Dialer
				return d.DialContext(ctx, network, addr)
			})
			if tc.partition {
				n.Partition("lyon")
			}
			ctx, cancel := context.WithTimeout(context.Background(), tc.timeout)
			defer cancel()
			type dialed struct {
				c   net.Conn
				err error
			}
			res := make(chan dialed, 1)
			go func() {
				c, err := dial(ctx, "tcp", ln.Addr().String())
				res <- dialed{c, err}
			}()
			if tc.heal {
				s := n.lookup("lyon")
				waitFor(t, "the dial to wait", func() bool {
					s.mu.Lock()
					defer s.mu.Unlock()
					return s.dialWaiters == 1
				})
				if dials.Load() != 0 {
					t.Fatal("dialled through a partition")
				}
				n.Heal("lyon")
			}
			got := <-res
			if tc.wantErr != nil {
				checkPartitionedDialErr(t, got.err, dials.Load())
				return
			}
			if got.err != nil {
				t.Fatalf("dial: %v", got.err)
			}
			defer got.c.Close()
			if n.Conns("lyon") != 1 || dials.Load() != 1 {
				t.Fatalf("Conns = %d, dials = %d; want the one dialled conn wrapped", n.Conns("lyon"), dials.Load())
			}
		})
	}
}

// checkPartitionedDialErr fails unless err says the site was partitioned
// until the context deadline, and no dial was attempted.
func checkPartitionedDialErr(t testing.TB, err error, dials int32) {
	t.Helper()
	if !errors.Is(err, context.DeadlineExceeded) || !errors.Is(err, ErrPartitioned) ||
		!strings.Contains(err.Error(), `via site "lyon": site is partitioned`) {
		t.Fatalf("dial error = %v; want ErrPartitioned and context.DeadlineExceeded naming the site", err)
	}
	if dials != 0 {
		t.Fatalf("dials = %d, want none through a partition", dials)
	}
}
