package logship

import (
	"bytes"
	"io"
	"net/http"
	"testing"
)

// FuzzStatusError: any error answer from the hub or blob endpoint (JSON,
// XML or junk) becomes a StatusError with a clipped one-line message.
func FuzzStatusError(f *testing.F) {
	f.Add(`{"Message":"ErrorCode:DeviceMaximumActiveFileUploadLimitExceeded;Number of active file upload requests cannot exceed 10"}`, "")
	f.Add(`<?xml version="1.0"?><Error><Code>AuthenticationFailed</Code><Message>Signed expiry time
RequestId:1</Message></Error>`, "AuthenticationFailed")
	f.Add("\x00\xff", "x")
	f.Fuzz(func(t *testing.T, body, code string) {
		resp := &http.Response{StatusCode: 403, Header: http.Header{"X-Ms-Error-Code": {code}}, Body: io.NopCloser(bytes.NewBufferString(body))}
		e := statusError(opBlock, resp)
		if e.Status != 403 || len(e.Message) > 203 || bytes.ContainsAny([]byte(e.Message), "\r\n") {
			t.Fatalf("statusError(%q) = %+v", body, e)
		}
		_ = classify(e)
	})
}
