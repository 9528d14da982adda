package broker

import (
	"log/slog"
	"net"
	"sync"

	"github.com/mochi-mqtt/server/v2/listeners"
)

// Listener adapts any net.Listener (TLS over TCP, or an in-memory network)
// to mochi. Unlike mochi's own TCP and Net listeners it shares no variable
// between the accept loop and the per-connection goroutines.
type Listener struct {
	id    string
	ln    net.Listener
	conns conns
	close sync.Once
}

var _ listeners.Listener = (*Listener)(nil)

// NewListener wraps ln under the listener id.
func NewListener(id string, ln net.Listener) *Listener {
	return &Listener{id: id, ln: ln}
}

// ID returns the listener id.
func (l *Listener) ID() string { return l.id }

// Address returns the listening address.
func (l *Listener) Address() string { return l.ln.Addr().String() }

// Protocol returns the network name.
func (l *Listener) Protocol() string { return l.ln.Addr().Network() }

// Init does nothing: the listener is already open.
func (l *Listener) Init(*slog.Logger) error { return nil }

// Serve accepts connections until the listener closes.
func (l *Listener) Serve(establish listeners.EstablishFn) {
	for {
		conn, err := l.ln.Accept()
		if err != nil {
			return
		}
		go l.conns.serve(conn, func(c net.Conn) {
			// A refused or broken connection is the client's problem; mochi
			// has already closed it and the hook has logged the reason.
			_ = establish(l.id, c)
		})
	}
}

// Close stops accepting, closes the clients of this listener (mochi's
// graceful disconnect), then any connection still in its handshake, and
// returns once no connection of this listener is left in mochi.
func (l *Listener) Close(closeClients listeners.CloseFn) {
	l.close.Do(func() {
		l.ln.Close()
		closeClients(l.id)
		l.conns.closeAll()
	})
}
