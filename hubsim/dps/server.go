package dps

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"

	mqtt "github.com/mochi-mqtt/server/v2"

	"github.com/cloudpillar/cloudpillar/hubsim/broker"
)

// Server is a running Device Provisioning Service.
type Server struct {
	cfg      Config
	enr      *enrollments
	state    *state
	throttle *bucket
	hook     *hook
	srv      *mqtt.Server
	ln       net.Listener
	httpSrv  *http.Server  // the service API, when configured
	httpsLn  net.Listener  // its TLS listener
	httpDone chan struct{} // closed when the service API's serve goroutine ends

	closeOnce sync.Once
}

// New builds a DPS; it opens nothing until Start.
func New(cfg Config) (*Server, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	s := &Server{cfg: cfg, enr: newEnrollments(), state: newState(), throttle: newBucket(cfg.Throttle)}
	s.hook = newHook(s)
	return s, nil
}

// Start opens the MQTT/TLS endpoint and serves it.
func (s *Server) Start() error {
	cert, err := s.cfg.TLSCA.IssueServer(s.cfg.ServerNames...)
	if err != nil {
		return fmt.Errorf("dps server certificate: %w", err)
	}
	raw := s.cfg.Listener
	if raw == nil {
		if raw, err = net.Listen("tcp", s.cfg.Addr); err != nil {
			return fmt.Errorf("dps mqtt listener: %w", err)
		}
	}
	s.ln = tls.NewListener(raw, &tls.Config{
		Certificates: []tls.Certificate{cert},
		ClientAuth:   tls.RequestClientCert, // X.509 or SAS: verified at CONNECT
		MinVersion:   tls.VersionTLS12,
	})
	s.srv = newMochi(s.cfg.Logger)
	if err := s.srv.AddHook(s.hook, nil); err != nil {
		return err
	}
	if err := s.srv.AddListener(broker.NewListener("dps", s.ln)); err != nil {
		return err
	}
	if err := s.srv.Serve(); err != nil {
		return err
	}
	return s.startHTTPS(cert)
}

func newMochi(log *slog.Logger) *mqtt.Server {
	caps := mqtt.NewDefaultServerCapabilities()
	caps.MaximumClientWritesPending = 128
	caps.MaximumQos = 1 // SUBACK grants at most QoS 1 (PROTOCOL.md §6)
	caps.RetainAvailable = 0
	return mqtt.New(&mqtt.Options{Capabilities: caps, Logger: log.With("subsystem", "dps-mochi")})
}

// Close stops the DPS and disconnects every device.
func (s *Server) Close(ctx context.Context) error {
	var err error
	s.closeOnce.Do(func() {
		err = s.closeHTTPS(ctx)
		if s.srv == nil {
			return
		}
		done := make(chan error, 1)
		go func() { done <- s.srv.Close() }()
		select {
		case cerr := <-done:
			err = errors.Join(err, cerr)
		case <-ctx.Done():
			err = errors.Join(err, fmt.Errorf("close dps: %w", ctx.Err()))
		}
	})
	return err
}

func (s *Server) closeHTTPS(ctx context.Context) error {
	if s.httpSrv == nil {
		return nil
	}
	err := s.httpSrv.Shutdown(ctx)
	<-s.httpDone
	return err
}

// Addr is the host:port devices connect to.
func (s *Server) Addr() string { return s.ln.Addr().String() }

// IDScope is the DPS's id scope.
func (s *Server) IDScope() string { return s.cfg.IDScope }

// HostName is the DPS's TLS host name.
func (s *Server) HostName() string { return s.cfg.HostName }
