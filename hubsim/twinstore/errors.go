package twinstore

import (
	"encoding/json"
	"fmt"
	"strconv"
)

// Error is an IoT Hub error with its HTTP-style status and numeric error
// code, such as 400 / 400004 ArgumentInvalid. Over MQTT the status goes into
// the response topic and Body into the payload (PROTOCOL.md §2.3).
type Error struct {
	Status  int    // 400, 404, 409, ...
	Code    int    // IoT Hub errorCode, e.g. 400004
	Message string // user-visible text
}

func (e *Error) Error() string {
	return strconv.Itoa(e.Code) + " " + e.Message
}

// Body is the JSON error body devices and SDKs read:
// {"errorCode":400004,"message":"..."}.
func (e *Error) Body() []byte {
	b, _ := json.Marshal(struct {
		ErrorCode int    `json:"errorCode"`
		Message   string `json:"message"`
	}{e.Code, e.Message})
	return b
}

// Sentinel errors; compare with errors.Is, read the status with errors.As.
var (
	// ErrNotFound: no twin for the device (404001 DeviceNotFound).
	ErrNotFound = &Error{Status: 404, Code: 404001, Message: "DeviceNotFound: device not found"}
	// ErrExists: Create for a device that already has a twin (409001 DeviceAlreadyExists).
	ErrExists = &Error{Status: 409, Code: 409001, Message: "DeviceAlreadyExists: device already exists"}
)

// codeArgumentInvalid is IoT Hub's 400004 ArgumentInvalid.
const codeArgumentInvalid = 400004

// invalid returns a 400 ArgumentInvalid error.
func invalid(format string, args ...any) *Error {
	return &Error{Status: 400, Code: codeArgumentInvalid, Message: fmt.Sprintf(format, args...)}
}

// notFound wraps ErrNotFound with the device ID.
func notFound(deviceID string) error {
	return fmt.Errorf("twin %q: %w", deviceID, ErrNotFound)
}
