package c2d

import (
	"fmt"
	"strconv"
	"time"
)

// Ack is the feedback a message asks for (its `iothub-ack` property).
type Ack string

// Ack modes.
const (
	AckNone     Ack = "none" // also the zero value
	AckPositive Ack = "positive"
	AckNegative Ack = "negative"
	AckFull     Ack = "full"
)

// Message is a cloud-to-device message as the service sends it.
type Message struct {
	MessageID       string
	CorrelationID   string
	UserID          string
	ContentType     string
	ContentEncoding string
	// ExpiryTime is when the message expires; zero means enqueue time
	// plus the default time to live.
	ExpiryTime time.Time
	Ack        Ack
	Properties map[string]string // application properties
	Body       []byte
}

// size is what counts against the message size limit: body plus property
// names and values.
func (m Message) size() int {
	n := len(m.Body) + len(m.MessageID) + len(m.CorrelationID) + len(m.UserID) + len(m.ContentType) + len(m.ContentEncoding)
	for k, v := range m.Properties {
		n += len(k) + len(v)
	}
	return n
}

// Delivery is one attempt to hand a message to its device, holding the
// message's lock until completed or expired.
type Delivery struct {
	DeviceID      string
	LockToken     uint64 // completes this delivery; a redelivery gets a new one
	DeliveryCount int    // 1 on the first delivery
	EnqueuedTime  time.Time
	Message       Message
}

// Status is the outcome a feedback record reports.
type Status string

// Feedback outcomes.
const (
	StatusSuccess               Status = "Success"
	StatusExpired               Status = "Expired"
	StatusDeliveryCountExceeded Status = "DeliveryCountExceeded"
	StatusRejected              Status = "Rejected"
	StatusPurged                Status = "Purged"
)

// Feedback is one feedback record (the service reads these from the
// hub's feedback endpoint).
type Feedback struct {
	OriginalMessageID  string
	EnqueuedTimeUTC    time.Time // when the outcome happened
	StatusCode         Status
	Description        string
	DeviceID           string
	DeviceGenerationID string
}

// wants reports whether ack mode a asks for feedback with status s.
func (a Ack) wants(s Status) bool {
	switch a {
	case AckFull:
		return true
	case AckPositive:
		return s == StatusSuccess
	case AckNegative:
		return s != StatusSuccess
	}
	return false
}

// Error is an IoT Hub error for a send: HTTP-style status and error code.
type Error struct {
	Status  int
	Code    int
	Message string
}

func (e *Error) Error() string { return strconv.Itoa(e.Code) + " " + e.Message }

// Is matches errors with the same code.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Code == e.Code
}

// Sentinel errors; compare with errors.Is.
var (
	ErrQueueFull      = &Error{Status: 403, Code: 403004, Message: "DeviceMaximumQueueDepthExceeded"}
	ErrDeviceNotFound = &Error{Status: 404, Code: 404001, Message: "DeviceNotFound"}
	ErrInvalid        = &Error{Status: 400, Code: 400004, Message: "ArgumentInvalid"}
)

func errorf(base *Error, format string, args ...any) *Error {
	e := *base
	e.Message += ": " + fmt.Sprintf(format, args...)
	return &e
}
