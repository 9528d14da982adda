package methods

import (
	"fmt"
	"strconv"
	"time"
)

// Error is an IoT Hub error for a method invocation: the HTTP status the
// service API answers with and IoT Hub's numeric error code.
type Error struct {
	Status  int    // 400, 404, 504
	Code    int    // 404103 ...
	Message string // user-visible text
}

func (e *Error) Error() string { return strconv.Itoa(e.Code) + " " + e.Message }

// Is matches errors with the same code, so errors.Is(err, ErrGatewayTimeout)
// holds for any 504101 whatever its message.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Code == e.Code
}

// Sentinel errors; compare with errors.Is, read status and code with errors.As.
var (
	ErrDeviceNotFound  = &Error{Status: 404, Code: 404001, Message: "DeviceNotFound"}
	ErrDeviceNotOnline = &Error{Status: 404, Code: 404103, Message: "DeviceNotOnline"}
	ErrGatewayTimeout  = &Error{Status: 504, Code: 504101, Message: "GatewayTimeout"}
	ErrInvalid         = &Error{Status: 400, Code: 400004, Message: "ArgumentInvalid"}
)

// errorf returns a copy of base with detail appended to its message.
func errorf(base *Error, format string, args ...any) *Error {
	e := *base
	e.Message += ": " + fmt.Sprintf(format, args...)
	return &e
}

// NotFound returns ErrDeviceNotFound naming the device.
func NotFound(id string) error { return errorf(ErrDeviceNotFound, "device %q not found", id) }

// NotOnline returns ErrDeviceNotOnline naming the device.
func NotOnline(id string) error {
	return errorf(ErrDeviceNotOnline, "device %q is not connected or not subscribed to methods", id)
}

// Timeout returns ErrGatewayTimeout naming the device, method and wait.
func Timeout(id, name string, after time.Duration) error {
	return errorf(ErrGatewayTimeout, "device %q did not answer %q within %v", id, name, after)
}
