package provision

import (
	"errors"
	"fmt"
	"time"
)

// Conditions callers branch on (errors.Is).
var (
	// ErrUnauthorized: DPS refused the bootstrap credential (CONNACK 4 or
	// 5, or status 401). Retrying quickly cannot help.
	ErrUnauthorized = errors.New("dps refused the device credential")
	// ErrNotFound: no enrollment or operation matched (status 404).
	ErrNotFound = errors.New("dps has no such enrollment or operation")
	// ErrThrottled: DPS asked the device to slow down (status 429) and the
	// registration ran out of time while waiting.
	ErrThrottled = errors.New("dps is throttling the device")
	// ErrDisabled: the enrollment or registration is disabled.
	ErrDisabled = errors.New("dps registration is disabled")
	// ErrFailed: DPS could not assign the device (status "failed").
	ErrFailed = errors.New("dps registration failed")
	// ErrBadRequest: DPS rejected the request (status 400: a malformed
	// body, a CSR whose CN is not the registration id, a weak key).
	ErrBadRequest = errors.New("dps rejected the request")
)

// Error is an error status DPS answered with, and the DPS error body.
type Error struct {
	Status     int
	Code       int // DPS errorCode, e.g. 401002
	Message    string
	TrackingID string
	RetryAfter time.Duration // -1 when DPS gave none
}

func (e *Error) Error() string {
	return fmt.Sprintf("dps status %d, errorCode %d: %s", e.Status, e.Code, e.Message)
}

// Is maps the status to the sentinel conditions.
func (e *Error) Is(target error) bool {
	switch target {
	case ErrUnauthorized:
		return e.Status == 401 || e.Status == 403
	case ErrNotFound:
		return e.Status == 404
	case ErrThrottled:
		return e.Status == 429
	case ErrBadRequest:
		return e.Status == 400
	}
	return false
}

// AssignmentError is a registration that ended "failed" or "disabled".
type AssignmentError struct {
	Status  string // StatusFailed or StatusDisabled
	Code    int    // registrationState.errorCode
	Message string // registrationState.errorMessage
}

func (e *AssignmentError) Error() string {
	if e.Code == 0 {
		return fmt.Sprintf("dps registration %s: %s", e.Status, e.Message)
	}
	return fmt.Sprintf("dps registration %s, errorCode %d: %s", e.Status, e.Code, e.Message)
}

// Is matches ErrDisabled or ErrFailed.
func (e *AssignmentError) Is(target error) bool {
	return (target == ErrDisabled && e.Status == StatusDisabled) || (target == ErrFailed && e.Status == StatusFailed)
}

// Temporary reports whether retrying the same registration soon may
// succeed: throttling, server errors and network failures are temporary;
// refused credentials, disabled or failed registrations and bad requests
// are not (back off slowly, or re-provision with another credential).
func Temporary(err error) bool {
	var e *Error
	if errors.As(err, &e) {
		return e.Status == 429 || e.Status >= 500
	}
	return !errors.Is(err, ErrUnauthorized) && !errors.Is(err, ErrDisabled) && !errors.Is(err, ErrFailed)
}
