package broker

import (
	"crypto/tls"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/gorilla/websocket"
	"github.com/mochi-mqtt/server/v2/listeners"
)

// WebSocketPath is where IoT Hub serves MQTT over WebSockets (PROTOCOL.md
// §1.1), on its HTTPS port.
const WebSocketPath = "/$iothub/websocket"

// WebSocket serves MQTT over WebSockets: an http.Handler for the hub's
// HTTPS server (mount it at WebSocketPath) that is also a mochi listener,
// so mochi hands each upgraded connection to the hooks like a TLS one and
// closes them when the broker stops. The HTTPS connection's TLS state goes
// with the connection, so X.509 devices authenticate over WebSockets too.
type WebSocket struct {
	id  string
	log *slog.Logger
	up  websocket.Upgrader

	mu        sync.Mutex
	establish listeners.EstablishFn // set by Serve; guarded by mu
	serving   chan struct{}         // closed when Serve has recorded establish
	serveOnce sync.Once
	closed    chan struct{}
	closeOnce sync.Once
	conns     conns
}

var (
	_ listeners.Listener = (*WebSocket)(nil)
	_ http.Handler       = (*WebSocket)(nil)
)

// NewWebSocket returns the listener/handler with mochi listener id.
func NewWebSocket(id string, log *slog.Logger) *WebSocket {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &WebSocket{id: id, log: log, serving: make(chan struct{}), closed: make(chan struct{}), up: websocket.Upgrader{
		Subprotocols: []string{"mqtt"},
		CheckOrigin:  func(*http.Request) bool { return true }, // devices send no Origin (wire/README.md obs. 30)
	}}
}

// ID returns the listener id.
func (ws *WebSocket) ID() string { return ws.id }

// Address names where the handler is mounted.
func (ws *WebSocket) Address() string { return WebSocketPath }

// Protocol names the transport.
func (ws *WebSocket) Protocol() string { return "wss" }

// Init does nothing: the HTTPS server owns the socket.
func (ws *WebSocket) Init(*slog.Logger) error { return nil }

// Serve records mochi's establish function and waits for Close.
func (ws *WebSocket) Serve(establish listeners.EstablishFn) {
	ws.mu.Lock()
	ws.establish = establish
	ws.mu.Unlock()
	ws.serveOnce.Do(func() { close(ws.serving) })
	<-ws.closed
}

// startWait bounds how long a request waits for mochi to start serving
// the listener: the hub's Start returns before mochi's listener goroutine
// has run.
const startWait = 5 * time.Second

// Close refuses new connections and closes those established.
func (ws *WebSocket) Close(closeClients listeners.CloseFn) {
	ws.closeOnce.Do(func() {
		ws.mu.Lock()
		ws.establish = nil
		ws.mu.Unlock()
		close(ws.closed)
		closeClients(ws.id)
		ws.conns.closeAll()
	})
}

// ServeHTTP upgrades a GET with subprotocol mqtt and serves MQTT on it
// until the connection ends.
func (ws *WebSocket) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	t := time.NewTimer(startWait)
	select {
	case <-ws.serving:
	case <-ws.closed:
	case <-r.Context().Done():
	case <-t.C:
	}
	t.Stop()
	ws.mu.Lock()
	establish := ws.establish
	ws.mu.Unlock()
	if establish == nil {
		http.Error(w, "MQTT broker not running", http.StatusServiceUnavailable)
		return
	}
	if !slices.Contains(websocket.Subprotocols(r), "mqtt") {
		http.Error(w, "WebSocket subprotocol mqtt required", http.StatusBadRequest)
		return
	}
	c, err := ws.up.Upgrade(w, r, nil)
	if err != nil {
		ws.log.Debug("websocket upgrade failed", "remote", r.RemoteAddr, "err", err)
		return
	}
	ws.conns.serve(&wsConn{WSStream: NewWSStream(c), state: r.TLS}, func(c net.Conn) {
		_ = establish(ws.id, c) // refusals are logged by the hook
	})
}

// wsConn is an upgraded HTTPS connection as mochi sees it: the WebSocket
// byte stream plus the TLS state X.509 authentication needs.
type wsConn struct {
	*WSStream
	state *tls.ConnectionState // of the HTTPS connection; nil without TLS
}

// ConnectionState is the TLS state of the HTTPS connection (for X.509).
func (w *wsConn) ConnectionState() tls.ConnectionState {
	if w.state == nil {
		return tls.ConnectionState{}
	}
	return *w.state
}

// WSStream is a WebSocket as the byte stream MQTT needs: a packet may span
// several binary messages (wire/README.md obs. 31) and a message may hold
// several packets. The embedded net.Conn is the connection under the
// WebSocket (addresses, deadlines, Close); Close drops it without a close
// frame. Like the gorilla connection, a WSStream allows one concurrent
// reader and one concurrent writer.
type WSStream struct {
	net.Conn                 // the underlying connection
	c        *websocket.Conn // framing
	r        io.Reader       // the current message, or nil
}

// NewWSStream returns c as a byte stream.
func NewWSStream(c *websocket.Conn) *WSStream {
	return &WSStream{Conn: c.UnderlyingConn(), c: c}
}

// Read reads the next bytes of the stream, across message boundaries. A
// message other than binary is an error.
func (w *WSStream) Read(p []byte) (int, error) {
	for {
		if w.r == nil {
			op, r, err := w.c.NextReader()
			if err != nil {
				return 0, err
			}
			if op != websocket.BinaryMessage {
				return 0, errors.New("websocket: MQTT needs binary messages")
			}
			w.r = r
		}
		n, err := w.r.Read(p)
		if errors.Is(err, io.EOF) {
			w.r, err = nil, nil
			if n == 0 {
				continue
			}
		}
		return n, err
	}
}

// Write sends p as one binary message (mochi writes whole packets).
func (w *WSStream) Write(p []byte) (int, error) {
	if err := w.c.WriteMessage(websocket.BinaryMessage, p); err != nil {
		return 0, err
	}
	return len(p), nil
}
