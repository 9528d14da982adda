package chaos

import (
	"errors"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// past is a deadline that has expired: setting it on the underlying conn
// unblocks its pending I/O without closing it (no FIN).
var past = time.Unix(1, 0)

// conn is the fault-injecting wrapper around one device connection. While
// its site is healthy and nothing is held, Read and Write go straight to the
// underlying conn after two atomic loads.
type conn struct {
	under   net.Conn
	s       *site
	maxHeld int           // send buffer during a partition, in bytes
	linger  time.Duration // delivery bound for held writes after Close
	slow    atomic.Bool   // mirrors hasStateLocked: take the locked path

	mu          sync.Mutex    // guards the fields below
	closed      bool          // Close was called: the local side is gone
	underClosed bool          // the underlying conn was closed
	flushing    bool          // a flush goroutine delivers held writes
	held        []byte        // writes held by a partition, oldest first
	rbuf        []byte        // bytes read from the peer during a partition
	rerr        error         // read error (EOF, reset) held by a partition
	rdl, wdl    time.Time     // deadlines set by the application
	wake        chan struct{} // closed to wake waiters; nil when none made
	waiters     int           // goroutines blocked in waitLocked
}

// fast reports whether I/O can bypass the fault logic.
func (c *conn) fast() bool { return !c.slow.Load() && !c.s.partitioned.Load() }

// Read reads from the peer, holding what arrives during a partition.
func (c *conn) Read(p []byte) (int, error) {
	if !c.fast() {
		if n, done, err := c.readHeld(p); done {
			return n, err
		}
	}
	n, err := c.under.Read(p)
	if err == nil && !c.s.partitioned.Load() {
		return n, nil
	}
	return c.afterRead(p, n, err)
}

// Write writes to the peer, holding the bytes during a partition.
func (c *conn) Write(p []byte) (int, error) {
	if c.fast() {
		n, err := c.under.Write(p)
		if err != nil {
			err = c.closedErr("write", err)
		}
		return n, err
	}
	held, err := c.holdWrite(p)
	if err != nil || held == len(p) {
		return held, err
	}
	n, err := c.under.Write(p[held:])
	if err != nil {
		err = c.closedErr("write", err)
	}
	return held + n, err
}

// Close closes the local side at once. The underlying conn is closed now if
// the site is healthy, on heal if it is partitioned, and after the held
// writes were delivered (at most linger) if a flush is running.
func (c *conn) Close() error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil
	}
	c.closed = true
	if c.s.partitioned.Load() {
		_ = c.under.SetDeadline(past) // unblock pending I/O, send no FIN
	} else if c.flushing {
		c.armFlushDeadlinesLocked()
	}
	closeNow := c.settleLocked()
	c.mu.Unlock()
	if closeNow {
		return c.closeUnder()
	}
	return nil
}

// LocalAddr returns the underlying conn's local address.
func (c *conn) LocalAddr() net.Addr { return c.under.LocalAddr() }

// RemoteAddr returns the underlying conn's remote address.
func (c *conn) RemoteAddr() net.Addr { return c.under.RemoteAddr() }

// SetDeadline sets the read and write deadlines.
func (c *conn) SetDeadline(t time.Time) error { return c.setDeadlines(t, true, true) }

// SetReadDeadline sets the read deadline, also for reads held by a partition.
func (c *conn) SetReadDeadline(t time.Time) error { return c.setDeadlines(t, true, false) }

// SetWriteDeadline sets the write deadline, also for writes blocked on a
// full send buffer. It does not bound the delivery of already held bytes.
func (c *conn) SetWriteDeadline(t time.Time) error { return c.setDeadlines(t, false, true) }

func (c *conn) setDeadlines(t time.Time, read, write bool) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return c.opErr("set deadline", net.ErrClosed)
	}
	var err error
	if read {
		c.rdl = t
		err = c.under.SetReadDeadline(t)
	}
	if write {
		c.wdl = t
		if !c.flushing { // the flush restores wdl when it ends
			err = errors.Join(err, c.under.SetWriteDeadline(t))
		}
	}
	c.broadcastLocked()
	return err
}

// closeUnder closes the underlying conn and forgets the wrapper.
func (c *conn) closeUnder() error {
	err := c.under.Close()
	c.s.remove(c)
	return err
}

// closedErr replaces an I/O error by net.ErrClosed if the wrapper was closed.
func (c *conn) closedErr(op string, err error) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return c.opErr(op, net.ErrClosed)
	}
	return err
}

// opErr wraps err like the net package does.
func (c *conn) opErr(op string, err error) error {
	e := &net.OpError{Op: op, Net: "chaos", Err: err}
	if a := c.under.LocalAddr(); a != nil {
		e.Net, e.Source = a.Network(), a
	}
	e.Addr = c.under.RemoteAddr()
	return e
}

// isTimeout reports whether err is a deadline error.
func isTimeout(err error) bool {
	var ne net.Error
	return errors.Is(err, os.ErrDeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout())
}
