package provision

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"sync"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
	"github.com/eclipse/paho.mqtt.golang/packets"
)

// closeWait bounds the polite UNSUBSCRIBE and DISCONNECT at the end.
const closeWait = time.Second

// session is one MQTT connection to DPS.
type session struct {
	client    paho.Client
	responses chan paho.Message
	log       *slog.Logger

	lost     chan struct{} // closed when the connection drops
	lostOnce sync.Once
	lostErr  error // written before lost is closed
}

// connect dials DPS, authenticates and subscribes to the response topics.
func connect(ctx context.Context, cfg *Config) (*session, error) {
	pass, err := cfg.password()
	if err != nil {
		return nil, err
	}
	s := &session{
		responses: make(chan paho.Message, 8),
		lost:      make(chan struct{}),
		log:       cfg.Logger.With("registration", cfg.RegistrationID),
	}
	s.client = paho.NewClient(s.options(ctx, cfg, pass))
	if err := wait(ctx, s.client.Connect()); err != nil {
		s.client.Disconnect(0)
		return nil, fmt.Errorf("connect: %w", classify(err))
	}
	if err := wait(ctx, s.client.Subscribe(ResponseFilter, 1, s.deliver)); err != nil {
		s.client.Disconnect(0)
		return nil, fmt.Errorf("subscribe %s: %w", ResponseFilter, err)
	}
	return s, nil
}

func (s *session) options(ctx context.Context, cfg *Config, pass string) *paho.ClientOptions {
	o := paho.NewClientOptions()
	o.AddBroker("tls://" + cfg.Address)
	o.SetClientID(cfg.RegistrationID)
	o.SetUsername(Username(cfg.IDScope, cfg.RegistrationID, cfg.APIVersion, cfg.ClientVersion))
	if pass != "" {
		o.SetPassword(pass)
	}
	o.SetProtocolVersion(4)
	o.SetCleanSession(true) // DPS keeps no sessions
	o.SetAutoReconnect(false)
	o.SetConnectRetry(false)
	o.SetKeepAlive(cfg.KeepAlive)
	o.SetConnectTimeout(cfg.ConnectTimeout)
	o.SetCustomOpenConnectionFn(func(*url.URL, paho.ClientOptions) (net.Conn, error) {
		return openTLS(ctx, cfg)
	})
	o.SetConnectionLostHandler(func(_ paho.Client, err error) { s.markLost(err) })
	return o
}

func openTLS(ctx context.Context, cfg *Config) (net.Conn, error) {
	ctx, cancel := context.WithTimeout(ctx, cfg.ConnectTimeout)
	defer cancel()
	raw, err := cfg.Dial(ctx, "tcp", cfg.Address)
	if err != nil {
		return nil, err
	}
	tc := tls.Client(raw, cfg.tlsConfig())
	if err := tc.HandshakeContext(ctx); err != nil {
		raw.Close()
		return nil, fmt.Errorf("tls handshake with %s: %w", cfg.Address, err)
	}
	return tc, nil
}

// deliver runs on paho's goroutine: it must not block. A response nobody
// waits for is stale (its request id is no longer asked for) and dropped.
func (s *session) deliver(_ paho.Client, m paho.Message) {
	select {
	case s.responses <- m:
	default:
		s.log.Warn("dps response dropped: too many unread", "topic", m.Topic())
	}
}

func (s *session) markLost(err error) {
	s.lostOnce.Do(func() {
		s.lostErr = err
		close(s.lost)
	})
}

// request publishes one request and waits for the response with the same
// request id, skipping stale ones.
func (s *session) request(ctx context.Context, topic string, body []byte, rid string) (Response, []byte, error) {
	if err := wait(ctx, s.client.Publish(topic, 1, false, body)); err != nil {
		return Response{}, nil, fmt.Errorf("publish: %w", err)
	}
	for {
		select {
		case <-ctx.Done():
			return Response{}, nil, fmt.Errorf("waiting for dps: %w", ctx.Err())
		case <-s.lost:
			return Response{}, nil, fmt.Errorf("connection lost: %w", s.lostErr)
		case m := <-s.responses:
			r, err := ParseResponseTopic(m.Topic())
			if err != nil || r.RID != rid {
				continue
			}
			return r, m.Payload(), nil
		}
	}
}

// close unsubscribes (as the SDKs do, waiting for the UNSUBACK briefly)
// and disconnects; paho's goroutines have stopped when it returns.
func (s *session) close() {
	if s.client.IsConnectionOpen() {
		s.client.Unsubscribe(ResponseFilter).WaitTimeout(closeWait)
	}
	s.client.Disconnect(uint(closeWait / time.Millisecond / 4))
}

// wait waits for a paho token or ctx.
func wait(ctx context.Context, t paho.Token) error {
	select {
	case <-t.Done():
		return t.Error()
	case <-ctx.Done():
		return ctx.Err()
	}
}

// classify marks CONNACK refusals of the credential.
func classify(err error) error {
	switch {
	case errors.Is(err, packets.ErrorRefusedNotAuthorised), errors.Is(err, packets.ErrorRefusedBadUsernameOrPassword):
		return fmt.Errorf("%w: %w", ErrUnauthorized, err)
	}
	return err
}
