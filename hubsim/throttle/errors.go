package throttle

import (
	"encoding/json"
	"strconv"
)

// Error is a refusal with IoT Hub's HTTP-style status, numeric code and
// error name (the REST iothub-errorcode header).
type Error struct {
	Status  int    // 429 or 403
	Code    int    // 429001 or 403002
	Name    string // ThrottlingException or IotHubQuotaExceeded
	Message string // user-visible text
}

func (e *Error) Error() string { return strconv.Itoa(e.Code) + " " + e.Name + ": " + e.Message }

// Is matches any *Error with the same code, so errors.Is(err,
// ErrThrottled) holds whatever the message says.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Code == e.Code
}

// Body is the JSON payload devices read on a twin response topic:
// {"errorCode":429001,"message":"..."} (PROTOCOL.md §2.3).
func (e *Error) Body() []byte {
	b, _ := json.Marshal(struct {
		ErrorCode int    `json:"errorCode"`
		Message   string `json:"message"`
	}{e.Code, e.Message})
	return b
}

// Sentinels; compare with errors.Is, read the details with errors.As.
var (
	// ErrThrottled: the operation class is over its rate (and, for
	// device-to-cloud sends, the shaping queue is full).
	ErrThrottled = &Error{Status: 429, Code: 429001, Name: "ThrottlingException", Message: "throttled"}
	// ErrQuotaExceeded: the hub's daily message quota is used up until the
	// next UTC day.
	ErrQuotaExceeded = &Error{Status: 403, Code: 403002, Name: "IotHubQuotaExceeded", Message: "daily quota exceeded"}
)

func throttled(c Class, rate float64) *Error {
	return &Error{Status: 429, Code: 429001, Name: "ThrottlingException",
		Message: "Rate limit for " + c.String() + " (" + strconv.FormatFloat(rate, 'g', 4, 64) +
			"/s) exceeded. Back off and retry."}
}

// quotaExceeded words the refusal as IoT Hub does (Microsoft Q&A 3102).
func quotaExceeded(limit, used int64) *Error {
	return &Error{Status: 403, Code: 403002, Name: "IotHubQuotaExceeded",
		Message: "Total number of messages on IotHub exceeded the allocated quota. Max allowed message count : '" +
			strconv.FormatInt(limit, 10) + "', current message count : '" + strconv.FormatInt(used, 10) +
			"'. Send and Receive operations are blocked for this hub until the next UTC day. " +
			"Consider increasing the units for this hub to increase the quota."}
}
