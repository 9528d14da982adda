package hubsim

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/cloudpillar/cloudpillar/hubsim/blob"
	"github.com/cloudpillar/cloudpillar/hubsim/broker"
	"github.com/cloudpillar/cloudpillar/hubsim/c2d"
	"github.com/cloudpillar/cloudpillar/hubsim/methods"
	"github.com/cloudpillar/cloudpillar/hubsim/sas"
	"github.com/cloudpillar/cloudpillar/hubsim/service"
)

// DefaultHTTPSAddr is where the HTTPS endpoint (service REST API, device
// file upload, blob endpoint, /_sim/) listens when Config.HTTPSAddr is "".
const DefaultHTTPSAddr = "127.0.0.1:0"

// httpsServer is the hub's HTTPS endpoint; set up by Start, torn down by
// Close. Its serving goroutine is owned by the Hub.
type httpsServer struct {
	srv     *http.Server
	ln      net.Listener
	done    chan error // the Serve goroutine's result
	host    string     // host:port under the hub's host name
	blobDir string
	tempDir bool // blobDir is the hub's own temporary directory
	uploads *blob.Uploads
	blobs   *blob.Server
}

// startHTTPS serves the HTTPS endpoint with the hub's server certificate.
func (h *Hub) startHTTPS(cert tls.Certificate) error {
	raw := h.cfg.HTTPSListener
	if raw == nil {
		addr := h.cfg.HTTPSAddr
		if addr == "" {
			addr = DefaultHTTPSAddr
		}
		var err error
		if raw, err = net.Listen("tcp", addr); err != nil {
			return fmt.Errorf("hub https listener: %w", err)
		}
	}
	s := &h.https
	if err := s.openBlobs(h, raw.Addr()); err != nil {
		raw.Close()
		return err
	}
	mux := http.NewServeMux()
	mux.Handle("/"+s.uploads.Container()+"/", s.blobs)
	mux.Handle("/"+updatesContainer+"/", s.blobs) // updates_api.go
	mux.Handle("/", service.New(h.serviceConfig()))
	mux.Handle(broker.WebSocketPath, h.MQTTWebSocketHandler()) // MQTT over WebSockets (PROTOCOL.md §1.1)
	s.ln = tls.NewListener(raw, &tls.Config{
		Certificates: []tls.Certificate{cert},
		ClientAuth:   tls.RequestClientCert, // device file upload may authenticate by certificate
		MinVersion:   tls.VersionTLS12,
	})
	log := h.cfg.Logger.With("subsystem", "https")
	s.srv = &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: 30 * time.Second,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelDebug), // TLS handshake noise
	}
	s.done = make(chan error, 1)
	go func() { s.done <- s.srv.Serve(s.ln) }()
	return nil
}

// openBlobs opens the blob store (StateDir/blobs, or a temporary directory
// the hub removes on Close) and the upload sessions for the address.
func (s *httpsServer) openBlobs(h *Hub, addr net.Addr) error {
	if h.cfg.StateDir != "" {
		s.blobDir = filepath.Join(h.cfg.StateDir, "blobs")
	} else {
		dir, err := os.MkdirTemp("", "hubsim-blobs-*")
		if err != nil {
			return fmt.Errorf("hub blob directory: %w", err)
		}
		s.blobDir, s.tempDir = dir, true
	}
	store, err := blob.OpenStore(s.blobDir, h.cfg.Blobs)
	if err != nil {
		return err
	}
	s.host = h.cfg.HostName
	if _, port, err := net.SplitHostPort(addr.String()); err == nil {
		s.host = net.JoinHostPort(h.cfg.HostName, port)
	}
	s.blobs = blob.NewServer(store, h.cfg.Now, h.cfg.Logger.With("subsystem", "blob"))
	s.uploads = blob.NewUploads(s.blobs, blob.UploadsConfig{Host: s.host})
	return nil
}

// serviceConfig wires the REST API to the hub.
func (h *Hub) serviceConfig() service.Config {
	return service.Config{
		HostName: h.cfg.HostName,
		Policies: h.cfg.Policies,
		Registry: h.registry,
		Twins:    h.twins,
		Events:   h.events,
		Roots:    h.ca.Pool(),
		Files:    h.https.uploads,
		NotifyDesired: func(id string, v int, body []byte) {
			h.hook.NotifyDesired(id, v, body)
		},
		InvokeMethod: h.invokeForService,
		SendC2D:      h.sendC2DForService,
		PublishURLs:  h.publishURLs, // updates_api.go
		DeleteDevice: h.DeleteDevice,
		Disconnect:   func(id, reason string) { h.hook.Disconnect(id, reason) },
		Throttle:     h.hook.Throttle,
		Now:          h.cfg.Now,
		Logger:       h.cfg.Logger.With("subsystem", "service"),
	}
}

// invokeForService runs a REST method call through InvokeMethod. The
// call's connect timeout is not supported yet: the device must be online.
func (h *Hub) invokeForService(ctx context.Context, id string, call service.MethodCall) (service.MethodResult, error) {
	status, payload, err := h.InvokeMethod(ctx, id, call.Name, call.Payload, call.ResponseTimeout)
	var me *methods.Error
	if errors.As(err, &me) {
		return service.MethodResult{}, service.HubError(me.Status, me.Code, me.Message)
	}
	return service.MethodResult{Status: status, Payload: payload}, err
}

// sendC2DForService queues a /_sim/ C2D message through SendC2D.
func (h *Hub) sendC2DForService(id string, m service.C2DMessage) error {
	err := h.SendC2D(id, c2d.Message{
		MessageID: m.MessageID, CorrelationID: m.CorrelationID, Ack: c2d.Ack(m.Ack),
		Properties: m.Properties, Body: m.Body,
	})
	var ce *c2d.Error
	if errors.As(err, &ce) {
		return service.HubError(ce.Status, ce.Code, ce.Message)
	}
	return err
}

// closeHTTPS stops the endpoint, waiting for requests in flight until ctx
// ends, and removes a temporary blob directory.
func (h *Hub) closeHTTPS(ctx context.Context) error {
	s := &h.https
	if s.srv == nil {
		return nil
	}
	err := s.srv.Shutdown(ctx)
	if err != nil {
		err = errors.Join(fmt.Errorf("close hub https: %w", err), s.srv.Close())
	}
	if serr := <-s.done; !errors.Is(serr, http.ErrServerClosed) {
		err = errors.Join(err, serr)
	}
	if s.tempDir {
		err = errors.Join(err, os.RemoveAll(s.blobDir))
	}
	return err
}

// HTTPSAddr is the host:port of the HTTPS endpoint (service REST API,
// device file upload, blob endpoint and /_sim/).
func (h *Hub) HTTPSAddr() string { return h.https.ln.Addr().String() }

// ServiceConnectionString is the iothubowner connection string:
// `HostName={host};SharedAccessKeyName=iothubowner;SharedAccessKey={key}`.
func (h *Hub) ServiceConnectionString() string {
	for _, p := range h.cfg.Policies {
		if p.Name == sas.PolicyOwner {
			return "HostName=" + h.cfg.HostName + ";SharedAccessKeyName=" + p.Name + ";SharedAccessKey=" + p.PrimaryKey
		}
	}
	return ""
}

// FileNotifications returns the notifications of successful device file
// uploads so far, oldest first.
func (h *Hub) FileNotifications() []blob.Notification {
	if h.https.uploads == nil {
		return nil
	}
	return h.https.uploads.Notifications()
}

// ReadBlob returns the content of an uploaded blob (name as in a
// notification: `{deviceId}/{file}`).
func (h *Hub) ReadBlob(name string) ([]byte, error) {
	if h.https.blobs == nil {
		return nil, errors.New("read blob: the hub is not started")
	}
	f, _, err := h.https.blobs.Store().Open(h.https.uploads.Container(), name)
	if err != nil {
		return nil, fmt.Errorf("read blob %q: %w", name, err)
	}
	defer f.Close()
	return io.ReadAll(f)
}
