package hubtest

import (
	"context"
	"crypto/tls"
	"sync/atomic"
	"testing"
	"time"

	"github.com/amenzhinsky/iothub/iotdevice"
	iotmqtt "github.com/amenzhinsky/iothub/iotdevice/transport/mqtt"
	"github.com/amenzhinsky/iothub/logger"
	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/cloudpillar/cloudpillar/hubsim"
)

// SDKTransport is the amenzhinsky iothub SDK's MQTT transport pointed at
// brokerURL ("" means the hub's MQTT/TLS endpoint; a `wss://.../$iothub/websocket`
// URL goes with iotmqtt.WithWebSocket): that SDK dials
// `tls://{HostName}:8883` and trusts the system roots, so the options hook
// (as agent/hub does) replaces the broker address and trusts the hub's CA
// while keeping any client certificate the SDK set. Auto-reconnect is off
// so drops stay visible.
func SDKTransport(h *hubsim.Hub, brokerURL string, opts ...iotmqtt.TransportOption) *iotmqtt.Transport {
	if brokerURL == "" {
		brokerURL = "tls://" + h.MQTTAddr()
	}
	cfg := iotmqtt.WithClientOptionsConfig(func(o *paho.ClientOptions) {
		var certs []tls.Certificate
		if o.TLSConfig != nil {
			certs = o.TLSConfig.Certificates
		}
		o.Servers = nil
		o.AddBroker(brokerURL)
		o.SetTLSConfig(&tls.Config{RootCAs: h.CA().Pool(), Certificates: certs, ServerName: h.HostName(), MinVersion: tls.VersionTLS12})
		o.SetAutoReconnect(false)
		o.SetConnectRetry(false)
		o.SetConnectTimeout(5 * time.Second)
	})
	return iotmqtt.New(append(opts, cfg)...)
}

// SDKFromConnectionString connects an SDK device client with a connection
// string (`HostName=..;DeviceId=..;SharedAccessKey=..`) to the hub's
// MQTT/TLS endpoint and closes it at cleanup.
func SDKFromConnectionString(t testing.TB, h *hubsim.Hub, cs string, opts ...iotmqtt.TransportOption) *iotdevice.Client {
	t.Helper()
	return SDKFromConnectionStringAt(t, h, "", cs, opts...)
}

// SDKFromConnectionStringAt is SDKFromConnectionString to brokerURL (see
// SDKTransport), such as the hub's WebSocket endpoint.
func SDKFromConnectionStringAt(t testing.TB, h *hubsim.Hub, brokerURL, cs string, opts ...iotmqtt.TransportOption) *iotdevice.Client {
	t.Helper()
	log := newSDKLogger(t)
	c, err := iotdevice.NewFromConnectionString(SDKTransport(h, brokerURL, opts...), cs, iotdevice.WithLogger(log))
	if err != nil {
		t.Fatalf("iotdevice.NewFromConnectionString: %v", err)
	}
	return connectSDK(t, c, log)
}

// SDKFromX509 connects an SDK device client with a client certificate to
// the hub's MQTT/TLS endpoint and closes it at cleanup.
func SDKFromX509(t testing.TB, h *hubsim.Hub, id string, cert tls.Certificate, opts ...iotmqtt.TransportOption) *iotdevice.Client {
	t.Helper()
	return SDKFromX509At(t, h, "", id, cert, opts...)
}

// SDKFromX509At is SDKFromX509 to brokerURL (see SDKTransport).
func SDKFromX509At(t testing.TB, h *hubsim.Hub, brokerURL, id string, cert tls.Certificate, opts ...iotmqtt.TransportOption) *iotdevice.Client {
	t.Helper()
	log := newSDKLogger(t)
	c, err := iotdevice.NewFromX509Cert(SDKTransport(h, brokerURL, opts...), id, h.HostName(), &cert, iotdevice.WithLogger(log))
	if err != nil {
		t.Fatalf("iotdevice.NewFromX509Cert: %v", err)
	}
	return connectSDK(t, c, log)
}

// sdkLogger sends the SDK's warnings and errors to the test log while the
// test runs; once its cleanup starts (the SDK then reports the operations
// its Close cut short, after the test's end) they are dropped.
type sdkLogger struct {
	logger.Logger
	live atomic.Bool
}

func newSDKLogger(t testing.TB) *sdkLogger {
	l := &sdkLogger{}
	l.live.Store(true)
	l.Logger = logger.New(logger.LevelWarn, func(lvl logger.Level, s string) {
		if l.live.Load() {
			t.Logf("iothub SDK %s: %s", lvl, s)
		}
	})
	return l
}

func connectSDK(t testing.TB, c *iotdevice.Client, log *sdkLogger) *iotdevice.Client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := c.Connect(ctx); err != nil {
		t.Fatalf("SDK connect: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	t.Cleanup(func() { log.live.Store(false) }) // runs first
	return c
}
