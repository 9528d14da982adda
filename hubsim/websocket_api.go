package hubsim

import "net/http"

// MQTTWebSocketHandler serves MQTT over WebSockets (subprotocol `mqtt`) for
// the HTTPS server to mount at broker.WebSocketPath (`/$iothub/websocket`,
// PROTOCOL.md §1.1). Devices authenticate as over MQTT/TLS; an X.509
// device's certificate is the one its HTTPS connection presented. It
// waits up to 5 s for the hub to finish starting, and answers 503 after Close.
func (h *Hub) MQTTWebSocketHandler() http.Handler { return h.ws }
