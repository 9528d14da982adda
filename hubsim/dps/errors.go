package dps

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/cloudpillar/cloudpillar/agent/provision"
)

// DPS error codes this simulator answers with (Azure's documented codes).
const (
	CodeBadRequest   = 400004 // malformed body, registration id mismatch, bad CSR
	CodeUnauthorized = 401002 // credential does not match an enrollment
	CodeNotFound     = 404201 // no such operation or enrollment
	CodeThrottled    = 429001
	CodeInternal     = 500000
)

// Error is a DPS error answer: the status on the response topic and the
// body's errorCode and message.
type Error struct {
	Status     int
	Code       int
	Message    string
	RetryAfter time.Duration // sent with 429; 0 = none
}

func (e *Error) Error() string {
	return fmt.Sprintf("dps %d (errorCode %d): %s", e.Status, e.Code, e.Message)
}

func badRequest(format string, args ...any) *Error {
	return &Error{Status: 400, Code: CodeBadRequest, Message: fmt.Sprintf(format, args...)}
}

// body renders e as DPS's error JSON.
func (e *Error) body(now time.Time, tracking string) []byte {
	return asciiJSON(provision.ErrorBody{
		ErrorCode: e.Code, TrackingID: tracking, Message: e.Message, TimestampUTC: timestamp(now),
	})
}

// timestamp formats a time as DPS does: UTC, milliseconds, Z.
func timestamp(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

// asciiJSON marshals v with every non-ASCII character escaped as \uXXXX:
// the Node SDK decodes DPS answers as ASCII (wire/README.md 34).
func asciiJSON(v any) []byte {
	raw, err := json.Marshal(v)
	if err != nil {
		panic("dps: marshal answer: " + err.Error()) // answers are plain structs: a programmer error
	}
	var b strings.Builder
	for _, r := range string(raw) {
		switch {
		case r < 0x80:
			b.WriteRune(r)
		case r > 0xFFFF:
			r -= 0x10000
			fmt.Fprintf(&b, `\u%04x\u%04x`, 0xD800+(r>>10), 0xDC00+(r&0x3FF))
		default:
			fmt.Fprintf(&b, `\u%04x`, r)
		}
	}
	return []byte(b.String())
}
