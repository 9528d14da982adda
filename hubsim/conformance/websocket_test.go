package conformance_test

import (
	"context"
	"crypto/tls"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/amenzhinsky/iothub/iotdevice"
	iotmqtt "github.com/amenzhinsky/iothub/iotdevice/transport/mqtt"

	"github.com/cloudpillar/cloudpillar/hubsim"
	"github.com/cloudpillar/cloudpillar/hubsim/broker"
	"github.com/cloudpillar/cloudpillar/hubsim/hubtest"
)

// wsServer mounts the hub's WebSocket handler on its own HTTPS server (the
// hub's HTTPS endpoint mounts the same handler) and returns the wss URL.
func wsServer(t *testing.T, h *hubsim.Hub) string {
	cert, err := h.CA().IssueServer(h.HostName(), "127.0.0.1")
	must(t, err)
	mux := http.NewServeMux()
	mux.Handle(broker.WebSocketPath, h.MQTTWebSocketHandler())
	srv := httptest.NewUnstartedServer(mux)
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{cert}, ClientAuth: tls.RequestClientCert}
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return "wss://" + strings.TrimPrefix(srv.URL, "https://") + broker.WebSocketPath
}

// TestSDKOverWebSocket (PROTOCOL.md §1.1): the amenzhinsky SDK with its
// WebSocket transport, by SAS and by X.509 (the certificate of the HTTPS
// connection), sends telemetry and reads its twin.
func TestSDKOverWebSocket(t *testing.T) {
	h := hubtest.NewHub(t, hubsim.Config{})
	url := wsServer(t, h)
	hubtest.SASDevice(t, h, "ws-sas")
	cs, err := h.DeviceConnectionString("ws-sas")
	must(t, err)
	clients := map[string]*iotdevice.Client{
		"ws-sas":  hubtest.SDKFromConnectionStringAt(t, h, url, cs, iotmqtt.WithWebSocket(true)),
		"ws-x509": hubtest.SDKFromX509At(t, h, url, "ws-x509", hubtest.Device(t, h, "ws-x509"), iotmqtt.WithWebSocket(true)),
	}
	for id, c := range clients {
		ctx, cancel := context.WithTimeout(context.Background(), waitFor)
		defer cancel()
		must(t, c.SendEvent(ctx, []byte("{}"), iotdevice.WithSendMessageID("ws-1")))
		if h.Events().Seen(id, "ws-1") != 1 {
			t.Errorf("%s: telemetry over WebSocket not recorded", id)
		}
		if _, _, err := c.RetrieveTwinState(ctx); err != nil {
			t.Errorf("%s: twin over WebSocket: %v", id, err)
		}
	}
}

// TestWebSocketNeedsTheMQTTSubprotocol: a plain GET or another subprotocol
// is refused before any MQTT.
func TestWebSocketNeedsTheMQTTSubprotocol(t *testing.T) {
	h := hubtest.NewHub(t, hubsim.Config{})
	rec := httptest.NewRecorder()
	req := httptest.NewRequest("GET", broker.WebSocketPath, nil)
	req.Header.Set("Sec-WebSocket-Protocol", "chat")
	h.MQTTWebSocketHandler().ServeHTTP(rec, req)
	if rec.Code != http.StatusBadRequest {
		t.Fatalf("status %d, want 400", rec.Code)
	}
}

// TestSDKOverWebSocketOnTheHubsHTTPSPort: the hub serves MQTT over
// WebSockets on its own HTTPS endpoint, as IoT Hub does on 443.
func TestSDKOverWebSocketOnTheHubsHTTPSPort(t *testing.T) {
	h := hubtest.NewHub(t, hubsim.Config{})
	url := "wss://" + h.HTTPSAddr() + broker.WebSocketPath
	c := hubtest.SDKFromX509At(t, h, url, "ws-port", hubtest.Device(t, h, "ws-port"), iotmqtt.WithWebSocket(true))
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	must(t, c.SendEvent(ctx, []byte("{}"), iotdevice.WithSendMessageID("ws-2")))
	if h.Events().Seen("ws-port", "ws-2") != 1 {
		t.Fatal("telemetry over the hub's WebSocket endpoint not recorded")
	}
}
