package service

import (
	"encoding/json"
	"net/http"
	"time"
)

// Direct method limits (PROTOCOL.md §4, "Invoke method"), in seconds.
const (
	DefaultResponseTimeout = 30
	MinResponseTimeout     = 5
	MaxResponseTimeout     = 300
	MaxConnectTimeout      = 300
)

// MethodCall is a direct method invocation for Config.InvokeMethod.
type MethodCall struct {
	Name            string
	Payload         json.RawMessage // JSON; "null" when the caller sent none
	ResponseTimeout time.Duration
	ConnectTimeout  time.Duration // 0: the device must be online now
}

// MethodResult is the device's answer.
type MethodResult struct {
	Status  int
	Payload json.RawMessage // JSON; "null" for an empty response
}

// Errors Config.InvokeMethod returns (or wraps) for the outcomes IoT Hub
// reports; any other error is a 500.
var (
	ErrDeviceNotOnline = &Error{http.StatusNotFound, "DeviceNotOnline", 404103, "Timed out waiting for device to connect."}
	ErrGatewayTimeout  = &Error{http.StatusGatewayTimeout, "GatewayTimeout", 504101, "Timed out waiting for the response from device."}
)

type methodBody struct {
	MethodName      string          `json:"methodName"`
	Payload         json.RawMessage `json:"payload"`
	ResponseTimeout *int            `json:"responseTimeoutInSeconds"`
	ConnectTimeout  *int            `json:"connectTimeoutInSeconds"`
}

func (h *Handler) invokeMethod(w http.ResponseWriter, r *http.Request) *Error {
	id := r.PathValue("id")
	var body methodBody
	if e := decodeBody(r, &body); e != nil {
		return e
	}
	call, e := body.call()
	if e != nil {
		return e
	}
	if _, err := h.cfg.Registry.Get(id); err != nil {
		return errDeviceNotFound(id)
	}
	if h.cfg.InvokeMethod == nil {
		// TODO(hubsim): wire Hub.InvokeMethod (device-facing methods) when it lands.
		return errNotImplemented("direct method invocation")
	}
	res, err := h.cfg.InvokeMethod(r.Context(), id, call)
	if err != nil {
		return asError(err)
	}
	payload := res.Payload
	if len(payload) == 0 {
		payload = json.RawMessage("null")
	}
	writeJSON(w, http.StatusOK, struct {
		Status  int             `json:"status"`
		Payload json.RawMessage `json:"payload"`
	}{res.Status, payload})
	return nil
}

// call validates the body and applies the defaults.
func (b methodBody) call() (MethodCall, *Error) {
	if b.MethodName == "" {
		return MethodCall{}, errInvalid("methodName is required")
	}
	resp := DefaultResponseTimeout
	if b.ResponseTimeout != nil {
		resp = *b.ResponseTimeout
	}
	if resp < MinResponseTimeout || resp > MaxResponseTimeout {
		return MethodCall{}, errInvalid("responseTimeoutInSeconds must be %d to %d", MinResponseTimeout, MaxResponseTimeout)
	}
	conn := 0
	if b.ConnectTimeout != nil {
		conn = *b.ConnectTimeout
	}
	if conn < 0 || conn > MaxConnectTimeout {
		return MethodCall{}, errInvalid("connectTimeoutInSeconds must be 0 to %d", MaxConnectTimeout)
	}
	payload := b.Payload
	if len(payload) == 0 {
		payload = json.RawMessage("null")
	}
	return MethodCall{
		Name: b.MethodName, Payload: payload,
		ResponseTimeout: time.Duration(resp) * time.Second, ConnectTimeout: time.Duration(conn) * time.Second,
	}, nil
}
