package service

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/cloudpillar/cloudpillar/hubsim/registry"
	"github.com/cloudpillar/cloudpillar/hubsim/twinstore"
)

// Error is an IoT Hub REST error: the HTTP status, the error name that goes
// into the iothub-errorcode header and the body, and the numeric code.
type Error struct {
	Status int
	Name   string // e.g. DeviceNotFound
	Code   int    // e.g. 404001
	Text   string // user-visible; no keys, no signatures
}

func (e *Error) Error() string { return fmt.Sprintf("%d %s: %s", e.Code, e.Name, e.Text) }

// Errors this API answers with (names and codes as IoT Hub's service SDKs
// know them).
func errInvalid(format string, args ...any) *Error {
	return &Error{http.StatusBadRequest, "ArgumentInvalid", 400004, fmt.Sprintf(format, args...)}
}

func errFormat(err error) *Error {
	return &Error{http.StatusBadRequest, "IotHubFormatError", 400006, "request body is not valid JSON: " + clip(err.Error())}
}

func errAPIVersion(v string) *Error {
	return &Error{http.StatusBadRequest, "InvalidProtocolVersion", 400001, fmt.Sprintf("api-version %q is not supported", clip(v))}
}

func errUnauthorized(reason string) *Error {
	return &Error{http.StatusUnauthorized, "IotHubUnauthorizedAccess", 401002, "Unauthorized: " + reason}
}

func errDeviceNotFound(id string) *Error {
	return &Error{http.StatusNotFound, "DeviceNotFound", 404001, fmt.Sprintf("Device %s not found", clip(id))}
}

func errNotImplemented(what string) *Error {
	return &Error{http.StatusNotImplemented, "NotImplemented", 501001, what + " is not implemented by hubsim yet"}
}

func errPrecondition() *Error {
	return &Error{http.StatusPreconditionFailed, "PreconditionFailed", 412001, "Precondition failed: the etag does not match"}
}

// asError maps a store or registry error to the IoT Hub error to send.
func asError(err error) *Error {
	var e *Error
	var te *twinstore.Error
	switch {
	case errors.As(err, &e):
		return e
	case errors.Is(err, registry.ErrNotFound), errors.Is(err, twinstore.ErrNotFound):
		return &Error{http.StatusNotFound, "DeviceNotFound", 404001, "Device not found"}
	case errors.Is(err, registry.ErrExists), errors.Is(err, twinstore.ErrExists):
		return &Error{http.StatusConflict, "DeviceAlreadyExists", 409001, "A device with this ID already exists"}
	case errors.Is(err, twinstore.ErrPreconditionFailed):
		return errPrecondition()
	case errors.As(err, &te):
		return &Error{te.Status, errorName(te.Code), te.Code, te.Message}
	case errors.Is(err, registry.ErrInvalid):
		return errInvalid("%s", clip(err.Error()))
	}
	return &Error{http.StatusInternalServerError, "ServerError", 500001, "internal error"}
}

// HubError is the REST error for a hub-side failure that carries IoT
// Hub's status and numeric code (the methods and C2D packages' errors).
func HubError(status, code int, text string) *Error {
	return &Error{status, errorName(code), code, text}
}

// errorNames maps IoT Hub's numeric error codes to their names.
var errorNames = map[int]string{
	400004: "ArgumentInvalid", 403002: "IotHubQuotaExceeded", 403004: "DeviceMaximumQueueDepthExceeded",
	404001: "DeviceNotFound", 404103: "DeviceNotOnline", 409001: "DeviceAlreadyExists",
	412001: "PreconditionFailed", 413002: "MessageTooLarge", 429001: "ThrottlingException", 504101: "GatewayTimeout",
}

func errorName(code int) string {
	if n, ok := errorNames[code]; ok {
		return n
	}
	return "ServerError"
}

// writeError sends e the way IoT Hub does: header iothub-errorcode and the
// body {"Message":"ErrorCode:{Name};{text}","ExceptionMessage":"Tracking ID:..."}
// (PROTOCOL.md §4, "Error format").
func writeError(w http.ResponseWriter, e *Error, now time.Time) {
	w.Header().Set("iothub-errorcode", e.Name)
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(e.Status)
	_ = json.NewEncoder(w).Encode(struct {
		Message          string
		ExceptionMessage string
	}{
		Message:          "ErrorCode:" + e.Name + ";" + e.Text,
		ExceptionMessage: "Tracking ID:" + trackingID() + "-G:0-TimeStamp:" + now.UTC().Format("01/02/2006 15:04:05"),
	})
}

// trackingID is 32 random hex digits, like IoT Hub's.
func trackingID() string {
	var b [16]byte
	rand.Read(b[:]) // never fails (crypto/rand, Go 1.24+)
	return hex.EncodeToString(b[:])
}

// writeJSON sends v with status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
}

func clip(s string) string {
	if len(s) > 128 {
		return s[:128] + "..."
	}
	return s
}
