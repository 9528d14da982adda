package service

import (
	"context"
	"crypto/x509"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/cloudpillar/cloudpillar/hubsim/blob"
	"github.com/cloudpillar/cloudpillar/hubsim/eventlog"
	"github.com/cloudpillar/cloudpillar/hubsim/registry"
	"github.com/cloudpillar/cloudpillar/hubsim/sas"
	"github.com/cloudpillar/cloudpillar/hubsim/throttle"
	"github.com/cloudpillar/cloudpillar/hubsim/twinstore"
)

// DefaultAPIVersions are the api-version values accepted when
// Config.APIVersions is empty; any other value is answered 400.
var DefaultAPIVersions = []string{"2021-04-12", "2020-09-30", "2020-03-13"}

// Config wires a Handler to the hub's stores and actions.
type Config struct {
	// HostName is the hub's logical host name; SAS tokens must name it.
	HostName string
	// Policies are the hub's shared access policies (service tokens carry
	// skn={name}).
	Policies []sas.Policy
	Registry *registry.Registry
	Twins    *twinstore.Store
	Events   *eventlog.Log
	// Roots verify device client certificates (CA-signed devices).
	Roots *x509.CertPool
	// Files serves device file uploads; nil answers them 501.
	Files *blob.Uploads
	// APIVersions accepted; empty means DefaultAPIVersions.
	APIVersions []string
	// NotifyDesired, if set, delivers a desired-properties notification
	// (body with "$version") to the device if it is connected.
	NotifyDesired func(deviceID string, version int, body []byte)
	// InvokeMethod, if set, calls a direct method on a connected device;
	// nil answers POST /twins/{id}/methods with 501.
	InvokeMethod func(ctx context.Context, deviceID string, call MethodCall) (MethodResult, error)
	// SendC2D, if set, queues a cloud-to-device message; nil answers
	// POST /_sim/devices/{id}/messages with 501.
	SendC2D func(deviceID string, msg C2DMessage) error
	// PublishURLs, if set, returns the URLs to upload a harness update
	// file to the hub's blob store and to download it, both carrying a
	// blob SAS, for a name the handler has checked (sim_updates.go); nil
	// answers POST /_sim/updates/{name} with 501.
	PublishURLs func(name string) (uploadURL, downloadURL string, err error)
	// DeleteDevice, if set, removes an identity with everything the hub
	// keeps for it (connection, twin, C2D queue); nil deletes the registry
	// entry and the twin.
	DeleteDevice func(deviceID string) error
	// Disconnect, if set, drops a device's connection (after a PUT
	// disables it).
	Disconnect func(deviceID, reason string)
	// Throttle, if set, returns the hub's throttle in force (nil: none at
	// the moment); the operations throttle.go lists are then rated and
	// metered against it.
	Throttle func() *throttle.Limiter
	// Now is the clock for token expiry and timestamps; nil is time.Now.
	Now func() time.Time
	// Logger receives request logs; nil discards them.
	Logger *slog.Logger
}

// Handler is IoT Hub's HTTPS service API (plus the device file-upload
// calls and hubsim's /_sim/ inspection API) as an http.Handler.
type Handler struct {
	cfg Config
	mux *http.ServeMux

	mu   sync.Mutex
	caps map[string]bool // device ID -> capabilities.iotEdge (the registry has no field); guarded by mu
}

// New returns a handler for cfg.
func New(cfg Config) *Handler {
	if len(cfg.APIVersions) == 0 {
		cfg.APIVersions = DefaultAPIVersions
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	h := &Handler{cfg: cfg, mux: http.NewServeMux(), caps: map[string]bool{}}
	h.routes()
	return h
}

// route is one operation: who may call it and what it does.
type route struct {
	pattern string
	auth    func(*Handler, *http.Request) *Error
	api     bool // requires a supported api-version
	fn      func(*Handler, http.ResponseWriter, *http.Request) *Error
}

func (h *Handler) routes() {
	svc := func(anyOf ...sas.Rights) func(*Handler, *http.Request) *Error {
		return func(h *Handler, r *http.Request) *Error { return h.authorizeService(r, anyOf...) }
	}
	device := (*Handler).authorizeDevice
	owner := svc(sas.RegistryRead | sas.RegistryWrite | sas.ServiceConnect | sas.DeviceConnect)
	for _, rt := range []route{
		{"GET /devices", svc(sas.RegistryRead), true, (*Handler).listDevices},
		{"GET /devices/{id}", svc(sas.RegistryRead), true, (*Handler).getDevice},
		{"PUT /devices/{id}", svc(sas.RegistryWrite), true, (*Handler).putDevice},
		{"DELETE /devices/{id}", svc(sas.RegistryWrite), true, (*Handler).deleteDevice},
		{"POST /devices/query", svc(sas.ServiceConnect, sas.RegistryRead), true, (*Handler).query},
		{"GET /twins/{id}", svc(sas.ServiceConnect, sas.RegistryRead), true, (*Handler).getTwin},
		{"PATCH /twins/{id}", svc(sas.ServiceConnect, sas.RegistryWrite), true, (*Handler).patchTwin},
		{"PUT /twins/{id}", svc(sas.ServiceConnect, sas.RegistryWrite), true, (*Handler).putTwin},
		{"POST /twins/{id}/methods", svc(sas.ServiceConnect), true, (*Handler).invokeMethod},
		{"POST /devices/{id}/files", device, true, (*Handler).startUpload},
		{"POST /devices/{id}/files/notifications", device, true, (*Handler).completeUpload},
		{"POST /devices/{id}/files/notifications/{cid}", device, true, (*Handler).completeUpload},
		{"GET /_sim/devices/{id}/events", owner, false, (*Handler).simEvents},
		{"POST /_sim/devices/{id}/messages", owner, false, (*Handler).simSendC2D},
		{"GET /_sim/files", owner, false, (*Handler).simFiles},
		{"POST /_sim/updates/{name...}", owner, false, (*Handler).simPublishURLs},
	} {
		h.mux.Handle(rt.pattern, h.throttled(rt.pattern, h.wrap(rt)))
	}
}

// wrap checks the api-version and the caller, then runs the operation and
// renders its error, if any, in IoT Hub's format.
func (h *Handler) wrap(rt route) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		e := h.check(rt, r)
		if e == nil {
			e = rt.fn(h, w, r)
		}
		if e != nil {
			h.cfg.Logger.Debug("service request refused", "method", r.Method, "path", r.URL.Path, "status", e.Status, "error", e.Name)
			writeError(w, e, h.cfg.Now())
		}
	})
}

func (h *Handler) check(rt route, r *http.Request) *Error {
	if strings.Contains(r.PathValue("id"), "/") { // an escaped slash: a module ID, not a device
		return errInvalid("device ID %q must not contain '/'", clip(r.PathValue("id")))
	}
	if rt.api {
		if v := r.URL.Query().Get("api-version"); !slices.Contains(h.cfg.APIVersions, v) {
			return errAPIVersion(v)
		}
	}
	return rt.auth(h, r)
}

// ServeHTTP routes the request; an unknown path or method gets an IoT Hub
// error body rather than the mux's plain text.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if _, pattern := h.mux.Handler(r); pattern != "" {
		h.mux.ServeHTTP(w, r)
		return
	}
	rec := &statusRecorder{header: http.Header{}}
	h.mux.ServeHTTP(rec, r) // learns 404 or 405 (and Allow)
	if allow := rec.header.Get("Allow"); allow != "" {
		w.Header().Set("Allow", allow)
	}
	e := &Error{http.StatusNotFound, "NotFound", 404000, "no such operation: " + clip(r.Method+" "+r.URL.Path)}
	if rec.status == http.StatusMethodNotAllowed {
		e = &Error{http.StatusMethodNotAllowed, "MethodNotAllowed", 405000, "method " + r.Method + " is not allowed here"}
	}
	writeError(w, e, h.cfg.Now())
}

// statusRecorder captures the status and headers the mux would send.
type statusRecorder struct {
	header http.Header
	status int
}

func (s *statusRecorder) Header() http.Header         { return s.header }
func (s *statusRecorder) Write(b []byte) (int, error) { return len(b), nil }
func (s *statusRecorder) WriteHeader(code int)        { s.status = code }
