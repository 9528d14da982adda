package conformance_test

import (
	"crypto/tls"
	"errors"
	"io"
	"net"
	"testing"

	"github.com/gorilla/websocket"
)

// wsClient is the device end of MQTT over WebSockets as a byte stream.
// Like MQTT.js it may split one packet across several binary messages
// (wire/README.md obs. 31): Write sends the next packet in parts messages.
type wsClient struct {
	net.Conn
	c     *websocket.Conn
	r     io.Reader
	parts int
}

// dialWebSocket opens MQTT over WebSockets at url (wss://.../$iothub/websocket).
func dialWebSocket(t testing.TB, url string, cfg *tls.Config) *wsClient {
	t.Helper()
	d := websocket.Dialer{TLSClientConfig: cfg, Subprotocols: []string{"mqtt"}}
	c, resp, err := d.Dial(url, nil)
	if err != nil {
		t.Fatalf("WebSocket dial %s: %v", url, err)
	}
	if resp.Header.Get("Sec-WebSocket-Protocol") != "mqtt" {
		t.Fatalf("subprotocol %q, want mqtt", resp.Header.Get("Sec-WebSocket-Protocol"))
	}
	return &wsClient{Conn: c.UnderlyingConn(), c: c}
}

func (w *wsClient) Read(p []byte) (int, error) {
	for {
		if w.r == nil {
			op, r, err := w.c.NextReader()
			if err != nil {
				return 0, err
			}
			if op != websocket.BinaryMessage {
				return 0, errors.New("text message")
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

func (w *wsClient) Write(p []byte) (int, error) {
	parts := min(max(w.parts, 1), len(p))
	size := (len(p) + parts - 1) / parts
	for off := 0; off < len(p); off += size {
		if err := w.c.WriteMessage(websocket.BinaryMessage, p[off:min(off+size, len(p))]); err != nil {
			return off, err
		}
	}
	return len(p), nil
}
