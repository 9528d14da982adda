package service

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/cloudpillar/cloudpillar/hubsim/registry"
)

// deviceJSON is a registry identity on the wire (PROTOCOL.md §4,
// "Registry"). Pointers render JSON null where IoT Hub sends null.
type deviceJSON struct {
	DeviceID                   string       `json:"deviceId"`
	GenerationID               string       `json:"generationId"`
	ETag                       string       `json:"etag"`
	ConnectionState            string       `json:"connectionState"`
	Status                     string       `json:"status"`
	StatusReason               *string      `json:"statusReason"`
	ConnectionStateUpdatedTime string       `json:"connectionStateUpdatedTime"`
	StatusUpdatedTime          string       `json:"statusUpdatedTime"`
	LastActivityTime           string       `json:"lastActivityTime"`
	CloudToDeviceMessageCount  int          `json:"cloudToDeviceMessageCount"`
	Authentication             authJSON     `json:"authentication"`
	Capabilities               capabilities `json:"capabilities"`
}

type authJSON struct {
	SymmetricKey   keysJSON   `json:"symmetricKey"`
	X509Thumbprint thumbsJSON `json:"x509Thumbprint"`
	Type           string     `json:"type"`
}

type keysJSON struct {
	PrimaryKey   *string `json:"primaryKey"`
	SecondaryKey *string `json:"secondaryKey"`
}

type thumbsJSON struct {
	PrimaryThumbprint   *string `json:"primaryThumbprint"`
	SecondaryThumbprint *string `json:"secondaryThumbprint"`
}

type capabilities struct {
	IotEdge bool `json:"iotEdge"`
}

// timeFormat is how IoT Hub's REST API writes times (.NET round-trip, UTC);
// a time never set is "0001-01-01T00:00:00Z".
const timeFormat = "2006-01-02T15:04:05.0000000Z"

func wireTime(t time.Time) string {
	if t.IsZero() {
		return "0001-01-01T00:00:00Z"
	}
	return t.UTC().Format(timeFormat)
}

func nullable(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func connectionState(d registry.Device) string {
	if d.Connected {
		return "Connected"
	}
	return "Disconnected"
}

// deviceView renders d; keys and thumbprints only for the kinds using them.
func (h *Handler) deviceView(d registry.Device) deviceJSON {
	out := deviceJSON{
		DeviceID: d.ID, GenerationID: d.GenerationID, ETag: d.ETag,
		ConnectionState: connectionState(d), Status: string(d.Status), StatusReason: nullable(d.StatusReason),
		ConnectionStateUpdatedTime: wireTime(d.ConnectionStateUpdatedTime),
		StatusUpdatedTime:          wireTime(d.StatusUpdatedTime),
		LastActivityTime:           wireTime(time.Time{}), // TODO(hubsim): the registry does not track activity yet
		Authentication:             authJSON{Type: string(d.Auth)},
		Capabilities:               capabilities{IotEdge: h.iotEdge(d.ID)},
	}
	if d.Auth == registry.AuthSAS {
		out.Authentication.SymmetricKey = keysJSON{nullable(d.SymmetricKey.PrimaryKey), nullable(d.SymmetricKey.SecondaryKey)}
	}
	if d.Auth == registry.AuthSelfSigned {
		out.Authentication.X509Thumbprint = thumbsJSON{nullable(d.Thumbprint.PrimaryThumbprint), nullable(d.Thumbprint.SecondaryThumbprint)}
	}
	return out
}

func (h *Handler) iotEdge(id string) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.caps[id]
}

func (h *Handler) setIotEdge(id string, on bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if on {
		h.caps[id] = true
	} else {
		delete(h.caps, id)
	}
}

func (h *Handler) listDevices(w http.ResponseWriter, r *http.Request) *Error {
	out := []deviceJSON{}
	for _, d := range h.cfg.Registry.List() {
		if !strings.Contains(d.ID, "/") { // modules are listed per device
			out = append(out, h.deviceView(d))
		}
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (h *Handler) getDevice(w http.ResponseWriter, r *http.Request) *Error {
	d, err := h.cfg.Registry.Get(r.PathValue("id"))
	if err != nil {
		return errDeviceNotFound(r.PathValue("id"))
	}
	writeJSON(w, http.StatusOK, h.deviceView(d))
	return nil
}

// putDevice creates (no If-Match) or updates (If-Match: "*" or the etag)
// an identity, and creates the twin of a new device.
func (h *Handler) putDevice(w http.ResponseWriter, r *http.Request) *Error {
	id := r.PathValue("id")
	var body deviceJSON
	if e := decodeBody(r, &body); e != nil {
		return e
	}
	dev, iotEdge, e := deviceFromBody(id, body)
	if e != nil {
		return e
	}
	ifMatch := r.Header.Get("If-Match")
	if ifMatch == "" {
		if dev.Auth == "" {
			dev.Auth = registry.AuthSAS // IoT Hub's default: SAS with generated keys
		}
		if err := h.cfg.Registry.Create(dev); err != nil {
			return asError(err)
		}
		if err := h.cfg.Twins.Create(id); err != nil {
			h.cfg.Registry.Delete(id)
			return asError(err)
		}
	} else {
		cur, err := h.cfg.Registry.Get(id)
		if err != nil {
			return errDeviceNotFound(id)
		}
		if !etagMatches(cur.ETag, ifMatch) {
			return errPrecondition()
		}
		keepCredentials(&dev, cur)
		d, err := h.cfg.Registry.Update(dev)
		if err != nil {
			return asError(err)
		}
		if d.Status == registry.StatusDisabled && h.cfg.Disconnect != nil {
			h.cfg.Disconnect(id, "device disabled")
		}
	}
	h.setIotEdge(id, iotEdge)
	d, err := h.cfg.Registry.Get(id)
	if err != nil {
		return asError(err)
	}
	writeJSON(w, http.StatusOK, h.deviceView(d))
	return nil
}

// deviceFromBody validates a PUT body against the path's ID.
func deviceFromBody(id string, b deviceJSON) (registry.Device, bool, *Error) {
	if b.DeviceID != "" && b.DeviceID != id {
		return registry.Device{}, false, errInvalid("deviceId %q in the body does not match %q in the path", clip(b.DeviceID), clip(id))
	}
	if e := checkDeviceID(id); e != nil {
		return registry.Device{}, false, e
	}
	d := registry.Device{
		ID: id, Status: registry.Status(b.Status), Auth: registry.AuthType(b.Authentication.Type),
		StatusReason: deref(b.StatusReason),
		SymmetricKey: registry.SymmetricKey{PrimaryKey: deref(b.Authentication.SymmetricKey.PrimaryKey),
			SecondaryKey: deref(b.Authentication.SymmetricKey.SecondaryKey)},
		Thumbprint: registry.X509Thumbprint{PrimaryThumbprint: deref(b.Authentication.X509Thumbprint.PrimaryThumbprint),
			SecondaryThumbprint: deref(b.Authentication.X509Thumbprint.SecondaryThumbprint)},
	}
	return d, b.Capabilities.IotEdge, nil
}

// keepCredentials fills what an update body left out from the current
// identity: the authentication type, and keys or thumbprints of that type.
func keepCredentials(d *registry.Device, cur registry.Device) {
	if d.Auth == "" {
		d.Auth = cur.Auth
	}
	if d.Auth != cur.Auth {
		return
	}
	if d.SymmetricKey == (registry.SymmetricKey{}) {
		d.SymmetricKey = cur.SymmetricKey
	}
	if d.Thumbprint == (registry.X509Thumbprint{}) {
		d.Thumbprint = cur.Thumbprint
	}
}

// checkDeviceID applies IoT Hub's device ID rule: 1-128 ASCII letters,
// digits and - . % _ * ? ! ( ) , : = @ $ '.
func checkDeviceID(id string) *Error {
	if id == "" || len(id) > 128 {
		return errInvalid("device ID must be 1 to 128 characters")
	}
	for _, c := range []byte(id) {
		if !isIDChar(c) {
			return errInvalid("device ID %q has a character IoT Hub does not allow", clip(id))
		}
	}
	return nil
}

func isIDChar(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("-.%_*?!(),:=@$'", c) >= 0
}

func (h *Handler) deleteDevice(w http.ResponseWriter, r *http.Request) *Error {
	id := r.PathValue("id")
	cur, err := h.cfg.Registry.Get(id)
	if err != nil {
		return errDeviceNotFound(id)
	}
	if !etagMatches(cur.ETag, r.Header.Get("If-Match")) {
		return errPrecondition()
	}
	if h.cfg.DeleteDevice != nil {
		if err := h.cfg.DeleteDevice(id); err != nil {
			return asError(err)
		}
	} else {
		h.cfg.Registry.Delete(id)
		h.cfg.Twins.Delete(id)
	}
	h.setIotEdge(id, false)
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// etagMatches implements If-Match: "" and "*" match anything; otherwise
// the (quoted or bare, optionally weak) etag must be the current one.
func etagMatches(current, ifMatch string) bool {
	ifMatch = strings.TrimSpace(ifMatch)
	if ifMatch == "" || ifMatch == "*" {
		return true
	}
	return strings.Trim(strings.TrimPrefix(ifMatch, "W/"), `"`) == current
}

// decodeBody reads one JSON value into v; bad JSON is 400.
func decodeBody(r *http.Request, v any) *Error {
	dec := json.NewDecoder(http.MaxBytesReader(nil, r.Body, maxBody))
	if err := dec.Decode(v); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return &Error{http.StatusRequestEntityTooLarge, "RequestEntityTooLarge", 413001, "request body is too large"}
		}
		return errFormat(err)
	}
	return nil
}

// maxBody bounds request bodies (twins are 40 KB at most; methods 128 KB).
const maxBody = 1 << 20

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
