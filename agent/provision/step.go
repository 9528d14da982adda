package provision

import (
	"encoding/json"
	"fmt"
	"time"
)

// step is what to do after one DPS response: finish with a status, or
// wait and then poll operationID (or register again when there is none).
type step struct {
	done        *OperationStatus
	operationID string
	wait        time.Duration
}

// next interprets a response (PROTOCOL.md §6, as Node's mqtt.js: status <
// 300 is progress, 429 and 5xx mean wait retry-after and go on, anything
// else fails). It is pure. pollDefault is the wait when DPS gives no
// retry-after; opID is the operation being followed, if any.
func next(r Response, body []byte, opID string, pollDefault time.Duration) (step, error) {
	wait := pollDefault
	if r.RetryAfter >= 0 {
		wait = r.RetryAfter
	}
	switch {
	case r.Status == 200 || r.Status == 202:
		return progress(body, opID, wait)
	case r.Status == 429 || r.Status >= 500:
		return step{operationID: opID, wait: wait}, nil
	}
	return step{}, errorFrom(r, body)
}

func progress(body []byte, opID string, wait time.Duration) (step, error) {
	var op OperationStatus
	if err := json.Unmarshal(body, &op); err != nil {
		return step{}, fmt.Errorf("dps response: malformed operation status: %w", err)
	}
	if op.OperationID != "" {
		opID = op.OperationID
	}
	switch op.Status {
	case StatusAssigned:
		if op.RegistrationState == nil || op.RegistrationState.AssignedHub == "" || op.RegistrationState.DeviceID == "" {
			return step{}, fmt.Errorf("dps response: assigned without a hub or device id")
		}
		return step{done: &op}, nil
	case StatusFailed, StatusDisabled:
		return step{}, assignmentError(op)
	case StatusAssigning, StatusUnassigned, "":
		if opID == "" {
			return step{}, fmt.Errorf("dps response: status %q without an operation id", op.Status)
		}
		return step{operationID: opID, wait: wait}, nil
	}
	return step{}, fmt.Errorf("dps response: unknown status %q", op.Status)
}

func assignmentError(op OperationStatus) error {
	e := &AssignmentError{Status: op.Status}
	if rs := op.RegistrationState; rs != nil {
		e.Code, e.Message = rs.ErrorCode, rs.ErrorMessage
	}
	return e
}

// errorFrom builds an *Error from an error status and its DPS body; a body
// that is not DPS JSON still yields the status.
func errorFrom(r Response, body []byte) error {
	var b ErrorBody
	if err := json.Unmarshal(body, &b); err != nil || b.Message == "" {
		b.Message = "no DPS error body"
	}
	return &Error{Status: r.Status, Code: b.ErrorCode, Message: b.Message, TrackingID: b.TrackingID, RetryAfter: r.RetryAfter}
}
