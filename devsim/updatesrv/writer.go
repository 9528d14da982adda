package updatesrv

import (
	"errors"
	"net/http"
	"time"
)

// errGone is returned to the handler once the client went away.
var errGone = errors.New("updatesrv: client went away")

// countingWriter counts body bytes and applies the rate and truncation
// faults. It belongs to one handler goroutine.
type countingWriter struct {
	http.ResponseWriter
	ctx    <-chan struct{} // the request's Done
	server *Server
	req    *Request
	rate   int   // bytes per second; 0: unlimited
	limit  int64 // drop the connection after this many body bytes; -1: never
}

func (c *countingWriter) WriteHeader(code int) {
	c.req.Status = code
	c.ResponseWriter.WriteHeader(code)
}

// Unwrap lets http.ResponseController reach the real writer.
func (c *countingWriter) Unwrap() http.ResponseWriter { return c.ResponseWriter }

func (c *countingWriter) Write(p []byte) (int, error) {
	if c.req.Status == 0 {
		c.req.Status = http.StatusOK
	}
	written := 0
	for len(p) > 0 {
		n := len(p)
		if c.rate > 0 {
			n = min(n, max(c.rate/20, 1)) // about 20 slices a second
		}
		if c.limit >= 0 {
			room := c.limit - c.req.Sent
			if room <= 0 {
				c.abort()
			}
			n = min(n, int(room))
		}
		m, err := c.ResponseWriter.Write(p[:n])
		c.req.Sent += int64(m)
		c.server.sent.Add(int64(m))
		written += m
		if err != nil {
			return written, err
		}
		p = p[n:]
		if c.rate > 0 {
			if err := c.pace(n); err != nil {
				return written, err
			}
		}
	}
	return written, nil
}

// pace flushes and waits as long as n bytes take at the rate.
func (c *countingWriter) pace(n int) error {
	c.flush()
	t := time.NewTimer(time.Duration(n) * time.Second / time.Duration(c.rate))
	defer t.Stop()
	select {
	case <-c.ctx:
		return errGone
	case <-t.C:
		return nil
	}
}

func (c *countingWriter) flush() {
	if f, ok := c.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// abort sends what was written and drops the connection mid-body; the
// client sees a body shorter than its Content-Length.
func (c *countingWriter) abort() {
	c.flush()
	panic(http.ErrAbortHandler)
}
