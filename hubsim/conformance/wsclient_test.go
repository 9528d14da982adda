package conformance_test

import (
	"crypto/tls"
	"testing"

	"github.com/gorilla/websocket"

	"github.com/cloudpillar/cloudpillar/hubsim/broker"
)

// wsClient is the device end of MQTT over WebSockets as a byte stream.
// Like MQTT.js it may split one packet across several binary messages
// (wire/README.md obs. 31): Write sends the next packet in parts messages.
type wsClient struct {
	*broker.WSStream
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
	return &wsClient{WSStream: broker.NewWSStream(c)}
}

// Write sends p in parts binary messages of about equal size.
func (w *wsClient) Write(p []byte) (int, error) {
	parts := min(max(w.parts, 1), len(p))
	size := (len(p) + parts - 1) / parts
	for off := 0; off < len(p); off += size {
		if _, err := w.WSStream.Write(p[off:min(off+size, len(p))]); err != nil {
			return off, err
		}
	}
	return len(p), nil
}
