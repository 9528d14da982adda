package chaos

import (
	"net"
	"os"
	"time"
)

// flushChunk is how many held bytes a flush writes at once; a partition
// stops the flush between chunks.
const flushChunk = 32 << 10

// readHeld serves a Read from bytes held by a partition, waiting while the
// site is partitioned. done is false when nothing is held and the caller
// should read the underlying conn.
func (c *conn) readHeld(p []byte) (n int, done bool, err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.readHeldLocked(p)
}

func (c *conn) readHeldLocked(p []byte) (n int, done bool, err error) {
	for {
		switch {
		case c.closed:
			return 0, true, c.opErr("read", net.ErrClosed)
		case c.s.partitioned.Load():
			// Nothing crosses a blackhole: wait below.
		case len(c.rbuf) > 0:
			n = copy(p, c.rbuf)
			c.rbuf = c.rbuf[n:]
			if len(c.rbuf) == 0 {
				c.rbuf = nil
			}
			c.updateSlowLocked()
			return n, true, nil
		case c.rerr != nil:
			err, c.rerr = c.rerr, nil
			c.updateSlowLocked()
			return 0, true, err
		default:
			return 0, false, nil
		}
		if err := c.waitLocked(c.rdl); err != nil {
			return 0, true, c.opErr("read", err)
		}
	}
}

// afterRead handles an underlying Read that failed or returned while the
// site is partitioned: what arrived is held until heal.
func (c *conn) afterRead(p []byte, n int, err error) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return 0, c.opErr("read", net.ErrClosed)
	}
	if !c.s.partitioned.Load() {
		return n, err
	}
	if n > 0 {
		c.rbuf = append(c.rbuf, p[:n]...)
	}
	if err != nil && !isTimeout(err) {
		c.rerr = err
	}
	c.updateSlowLocked()
	if err != nil && isTimeout(err) {
		return 0, err
	}
	n, _, err = c.readHeldLocked(p)
	return n, err
}

// holdWrite holds p in the send buffer while the site is partitioned and
// waits out a full buffer or a running flush. It returns how many bytes it
// held; the caller writes the rest to the underlying conn.
func (c *conn) holdWrite(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if expired(c.wdl) {
		return 0, c.opErr("write", os.ErrDeadlineExceeded)
	}
	held := 0
	for {
		switch {
		case c.closed:
			return held, c.opErr("write", net.ErrClosed)
		case c.s.partitioned.Load():
			k := min(c.maxHeld-len(c.held), len(p)-held)
			c.held = append(c.held, p[held:held+k]...)
			held += k
			c.updateSlowLocked()
			if held == len(p) {
				return held, nil
			}
		case len(c.held) == 0 && !c.flushing:
			return held, nil
		default:
			c.startFlushLocked() // held bytes go first
		}
		if err := c.waitLocked(c.wdl); err != nil {
			return held, c.opErr("write", err)
		}
	}
}

// heal moves the conn forward after its site healed and reports whether
// the underlying conn must now be closed. The caller holds site.mu.
func (c *conn) heal() (closeUnder bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.settleLocked()
}

// settleLocked moves the conn forward after any state change: a closed conn
// in a partition drops its held bytes; a healthy conn with held writes
// starts a flush; a closed healthy conn with nothing to flush reports that
// the underlying conn must be closed. It wakes every waiter.
func (c *conn) settleLocked() (closeUnder bool) {
	healthy := !c.s.partitioned.Load()
	if c.closed && !healthy {
		c.held, c.rbuf, c.rerr = nil, nil, nil
	}
	if healthy {
		c.startFlushLocked()
	}
	if healthy && c.closed && !c.flushing && !c.underClosed {
		c.underClosed = true
		closeUnder = true
	}
	c.updateSlowLocked()
	c.broadcastLocked()
	return closeUnder
}

// startFlushLocked starts delivering held writes unless a flush already
// runs. The caller checked that the site is healthy.
func (c *conn) startFlushLocked() {
	if len(c.held) == 0 || c.flushing || c.underClosed {
		return
	}
	c.flushing = true
	c.armFlushDeadlinesLocked()
	c.updateSlowLocked()
	go c.flush()
}

// armFlushDeadlinesLocked frees the flush from the application's write
// deadline (retransmission ignores it); once closed, it bounds the flush by
// the linger time and unblocks pending reads.
func (c *conn) armFlushDeadlinesLocked() {
	if !c.closed {
		_ = c.under.SetWriteDeadline(time.Time{})
		return
	}
	_ = c.under.SetReadDeadline(past)
	_ = c.under.SetWriteDeadline(time.Now().Add(c.linger))
}

// flush delivers held writes in order until they are gone, the site is
// partitioned again, or the underlying conn fails.
func (c *conn) flush() {
	c.mu.Lock()
	for len(c.held) > 0 && !c.s.partitioned.Load() {
		chunk := c.held[:min(len(c.held), flushChunk)]
		c.mu.Unlock()
		n, err := c.under.Write(chunk) // appends only touch bytes past chunk
		c.mu.Lock()
		c.held = c.held[min(n, len(c.held)):]
		if err != nil {
			c.held = nil // the conn is broken; the next Write will say so
		}
	}
	if len(c.held) == 0 {
		c.held = nil
	}
	c.flushing = false
	if !c.closed {
		_ = c.under.SetWriteDeadline(c.wdl)
	}
	closeUnder := c.settleLocked()
	c.mu.Unlock()
	if closeUnder {
		_ = c.closeUnder()
	}
}

// waitLocked releases c.mu until a waiter is woken or the deadline passes;
// callers loop and re-check their condition. It fails only if dl passed.
func (c *conn) waitLocked(dl time.Time) error {
	var timeout <-chan time.Time
	if !dl.IsZero() {
		d := time.Until(dl)
		if d <= 0 {
			return os.ErrDeadlineExceeded
		}
		t := time.NewTimer(d)
		defer t.Stop()
		timeout = t.C
	}
	if c.wake == nil {
		c.wake = make(chan struct{})
	}
	wake := c.wake
	c.waiters++
	c.mu.Unlock()
	select {
	case <-wake:
	case <-timeout:
	}
	c.mu.Lock()
	c.waiters--
	return nil
}

// broadcastLocked wakes every waiter.
func (c *conn) broadcastLocked() {
	if c.wake != nil {
		close(c.wake)
		c.wake = nil
	}
}

// updateSlowLocked publishes whether I/O must take the locked path.
func (c *conn) updateSlowLocked() {
	c.slow.Store(c.closed || c.flushing || len(c.held) > 0 || len(c.rbuf) > 0 || c.rerr != nil)
}

// expired reports whether deadline dl is set and has passed.
func expired(dl time.Time) bool { return !dl.IsZero() && !time.Now().Before(dl) }
