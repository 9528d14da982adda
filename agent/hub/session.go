package hub

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"sync"
	"time"

	"github.com/amenzhinsky/iothub/iotdevice"
	iotmqtt "github.com/amenzhinsky/iothub/iotdevice/transport/mqtt"
	paho "github.com/eclipse/paho.mqtt.golang"
)

// Defaults for Config fields left zero.
const (
	DefaultKeepAlive      = 30 * time.Second
	DefaultConnectTimeout = 30 * time.Second
)

// DialFunc opens the raw (pre-TLS) connection to the hub.
type DialFunc func(ctx context.Context, network, addr string) (net.Conn, error)

// Config is one device's connection settings.
type Config struct {
	DeviceID    string
	HostName    string          // the hub's logical host name (username, TLS server name)
	Address     string          // host:port to dial; default HostName:8883
	RootCAs     *x509.CertPool  // trusted hub CAs; nil = system roots
	Certificate tls.Certificate // the device's operational X.509 certificate and key
	ModelID     string          // IoT Plug and Play model id announced on connect; optional
	// KeepAlive is the MQTT keep-alive; a silently dead connection is
	// detected within KeepAlive plus PingTimeout. Default 30 s.
	KeepAlive time.Duration
	// PingTimeout bounds the wait for a PINGRESP. Default 10 s.
	PingTimeout time.Duration
	// ConnectTimeout bounds dial, TLS handshake and CONNECT. Default 30 s.
	ConnectTimeout time.Duration
	Dial           DialFunc // nil: plain TCP
	// Logger receives the SDK's own logs. Nil discards them.
	Logger *slog.Logger
}

func (c *Config) validate() error {
	if c.DeviceID == "" {
		return errors.New("hub config: device id is empty")
	}
	if c.HostName == "" {
		return errors.New("hub config: host name is empty")
	}
	if len(c.Certificate.Certificate) == 0 {
		return errors.New("hub config: no device certificate")
	}
	if c.Address == "" {
		c.Address = net.JoinHostPort(c.HostName, "8883")
	}
	if c.KeepAlive <= 0 {
		c.KeepAlive = DefaultKeepAlive
	}
	if c.PingTimeout <= 0 {
		c.PingTimeout = 10 * time.Second
	}
	if c.ConnectTimeout <= 0 {
		c.ConnectTimeout = DefaultConnectTimeout
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Dial == nil {
		var d net.Dialer
		c.Dial = d.DialContext
	}
	return nil
}

// Session is one live connection to the hub.
type Session struct {
	client *iotdevice.Client
	tr     *iotmqtt.Transport

	done     chan struct{}
	doneOnce sync.Once
	errMu    sync.Mutex
	err      error // guarded by errMu: why the connection ended
}

// Connect dials the hub, authenticates and subscribes to desired-property
// patches, which are passed to onDesired (raw JSON, including "$version").
func Connect(ctx context.Context, cfg Config, onDesired func([]byte)) (*Session, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	s := &Session{done: make(chan struct{})}
	s.tr = iotmqtt.New(
		iotmqtt.WithModelID(cfg.ModelID),
		iotmqtt.WithClientOptionsConfig(func(o *paho.ClientOptions) { s.configure(o, cfg) }),
	)
	client, err := iotdevice.NewFromX509Cert(s.tr, cfg.DeviceID, cfg.HostName, &cfg.Certificate,
		iotdevice.WithLogger(sdkLogger{cfg.Logger}))
	if err != nil {
		return nil, fmt.Errorf("hub client: %w", err)
	}
	s.client = client
	cctx, cancel := context.WithTimeout(ctx, cfg.ConnectTimeout)
	defer cancel()
	if err := client.Connect(cctx); err != nil {
		client.Close()
		return nil, fmt.Errorf("connect to %s as %s: %w", cfg.Address, cfg.DeviceID, classify(err))
	}
	// Subscribe on the transport with our own dispatcher: the SDK's
	// twin-state mux can send on a closed channel when a patch races Close.
	if err := s.tr.SubscribeTwinUpdates(cctx, dispatcher(onDesired)); err != nil {
		s.Close()
		return nil, fmt.Errorf("subscribe to desired properties: %w", err)
	}
	return s, nil
}

type dispatcher func([]byte)

func (d dispatcher) Dispatch(b []byte) {
	if d != nil {
		d(append([]byte(nil), b...))
	}
}

// configure runs after the SDK has set its options: it points paho at our
// dialer and TLS settings and turns off paho's own reconnects.
func (s *Session) configure(o *paho.ClientOptions, cfg Config) {
	tlsCfg := &tls.Config{
		RootCAs:      cfg.RootCAs,
		Certificates: []tls.Certificate{cfg.Certificate},
		ServerName:   cfg.HostName,
		MinVersion:   tls.VersionTLS12,
	}
	o.Servers = nil
	o.AddBroker("tls://" + cfg.Address)
	o.SetAutoReconnect(false)
	o.SetConnectRetry(false)
	o.SetKeepAlive(cfg.KeepAlive)
	o.SetPingTimeout(cfg.PingTimeout)
	o.SetConnectTimeout(cfg.ConnectTimeout)
	o.SetCustomOpenConnectionFn(func(*url.URL, paho.ClientOptions) (net.Conn, error) {
		return openTLS(cfg, tlsCfg)
	})
	o.SetConnectionLostHandler(func(_ paho.Client, err error) { s.lost(err) })
}

func openTLS(cfg Config, tlsCfg *tls.Config) (net.Conn, error) {
	ctx, cancel := context.WithTimeout(context.Background(), cfg.ConnectTimeout)
	defer cancel()
	raw, err := cfg.Dial(ctx, "tcp", cfg.Address)
	if err != nil {
		return nil, err
	}
	tc := tls.Client(raw, tlsCfg)
	if err := tc.HandshakeContext(ctx); err != nil {
		raw.Close()
		return nil, fmt.Errorf("tls handshake with %s: %w", cfg.Address, err)
	}
	return tc, nil
}

func (s *Session) lost(err error) {
	s.errMu.Lock()
	if s.err == nil {
		s.err = fmt.Errorf("connection lost: %w", err)
	}
	s.errMu.Unlock()
	s.doneOnce.Do(func() { close(s.done) })
}

// Done is closed when the connection is lost or the session closed.
func (s *Session) Done() <-chan struct{} { return s.done }

// Err says why the session ended (nil while it is live).
func (s *Session) Err() error {
	s.errMu.Lock()
	defer s.errMu.Unlock()
	return s.err
}

// SendEvent publishes one telemetry message at QoS 1 and returns after the
// hub's PUBACK.
func (s *Session) SendEvent(ctx context.Context, id string, payload []byte, props map[string]string) error {
	return s.client.SendEvent(ctx, payload,
		iotdevice.WithSendMessageID(id),
		iotdevice.WithSendProperties(props),
	)
}

// Twin returns the desired and reported sections of the device twin.
func (s *Session) Twin(ctx context.Context) (desired, reported map[string]any, err error) {
	d, r, err := s.client.RetrieveTwinState(ctx)
	if err != nil {
		return nil, nil, fmt.Errorf("get twin: %w", classify(err))
	}
	return d, r, nil
}

// Report sends a reported-properties patch and returns the new reported
// $version.
func (s *Session) Report(ctx context.Context, patch map[string]any) (int, error) {
	// Round-trip through JSON so typed values (structs) become plain JSON.
	b, err := json.Marshal(patch)
	if err != nil {
		return 0, fmt.Errorf("encode reported patch: %w", err)
	}
	var state iotdevice.TwinState
	if err := json.Unmarshal(b, &state); err != nil {
		return 0, err
	}
	v, err := s.client.UpdateTwinState(ctx, state)
	if err != nil {
		return 0, fmt.Errorf("report properties: %w", classify(err))
	}
	return v, nil
}

// Close disconnects. It is idempotent.
func (s *Session) Close() error {
	err := s.client.Close()
	s.errMu.Lock()
	if s.err == nil {
		s.err = errors.New("session closed")
	}
	s.errMu.Unlock()
	s.doneOnce.Do(func() { close(s.done) })
	return err
}

// MethodHandler answers a direct method: the status and the JSON response
// body. It runs on the SDK's goroutine and must not block for long.
type MethodHandler func(payload map[string]any) (status int, response map[string]any)

// RegisterMethod subscribes to direct method calls named name.
func (s *Session) RegisterMethod(ctx context.Context, name string, fn MethodHandler) error {
	err := s.client.RegisterMethod(ctx, name, func(p map[string]any) (int, map[string]any, error) {
		code, resp := fn(p)
		return code, resp, nil
	})
	if err != nil {
		return fmt.Errorf("register method %s: %w", name, classify(err))
	}
	return nil
}
