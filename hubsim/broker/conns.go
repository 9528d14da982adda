package broker

import (
	"net"
	"sync"
)

// conns tracks the connections a listener has handed to mochi and closes
// them all when the listener closes. mochi counts a client in its wait
// group only once its establish call has started, so a connection accepted
// just before the broker stops would otherwise join the wait group while
// mochi waits on it (a data race in sync.WaitGroup) and, if it was still in
// its CONNECT when mochi disconnected the known clients, keep the broker's
// Close waiting for as long as the device stays connected.
type conns struct {
	mu     sync.Mutex
	open   map[net.Conn]struct{}
	closed bool
	wg     sync.WaitGroup
}

// serve runs establish on c unless the listener has closed (then c is
// closed at once). establish returns when the connection ends.
func (s *conns) serve(c net.Conn, establish func(net.Conn)) {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		c.Close()
		return
	}
	if s.open == nil {
		s.open = make(map[net.Conn]struct{})
	}
	s.open[c] = struct{}{}
	s.wg.Add(1)
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.open, c)
		s.mu.Unlock()
		s.wg.Done()
	}()
	establish(c)
}

// closeAll refuses further connections, closes every open one and waits
// until each establish call has returned, so mochi's wait group no longer
// changes.
func (s *conns) closeAll() {
	s.mu.Lock()
	s.closed = true
	for c := range s.open {
		c.Close()
	}
	s.mu.Unlock()
	s.wg.Wait()
}
