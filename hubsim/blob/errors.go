package blob

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/xml"
	"net/http"
	"time"
)

// Error is a Blob service error: HTTP status, the x-ms-error-code and the
// message of the XML error body.
type Error struct {
	Status  int
	Code    string // e.g. BlobNotFound
	Message string
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }

// Errors the store and handler return.
var (
	ErrBlobNotFound = &Error{Status: 404, Code: "BlobNotFound", Message: "The specified blob does not exist."}
	ErrInvalidList  = &Error{Status: 400, Code: "InvalidBlockList", Message: "The specified block list is invalid."}
	ErrTooLarge     = &Error{Status: 413, Code: "RequestBodyTooLarge", Message: "The request body is too large."}
)

func errAuth(msg string) *Error {
	return &Error{Status: 403, Code: "AuthenticationFailed",
		Message: "Server failed to authenticate the request. Make sure the value of Authorization header is formed correctly including the signature. " + msg}
}

func errPermission() *Error {
	return &Error{Status: 403, Code: "AuthorizationPermissionMismatch",
		Message: "This request is not authorized to perform this operation using this permission."}
}

// writeError sends e as the Blob service does: x-ms-error-code and an XML
// body whose message ends with the request ID and time.
func writeError(w http.ResponseWriter, e *Error, requestID string, now time.Time) {
	w.Header().Set("x-ms-error-code", e.Code)
	w.Header().Set("Content-Type", "application/xml")
	w.WriteHeader(e.Status)
	body := struct {
		XMLName xml.Name `xml:"Error"`
		Code    string   `xml:"Code"`
		Message string   `xml:"Message"`
	}{Code: e.Code, Message: e.Message + "\nRequestId:" + requestID + "\nTime:" + now.UTC().Format("2006-01-02T15:04:05.0000000Z")}
	_, _ = w.Write([]byte(xml.Header))
	_ = xml.NewEncoder(w).Encode(body)
}

// newRequestID returns a GUID-shaped request ID.
func newRequestID() string {
	var b [16]byte
	rand.Read(b[:]) // never fails (crypto/rand, Go 1.24+)
	s := hex.EncodeToString(b[:])
	return s[:8] + "-" + s[8:12] + "-" + s[12:16] + "-" + s[16:20] + "-" + s[20:]
}
