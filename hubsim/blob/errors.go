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
	ErrTooLarge     = &Error{Status: 413, Code: "RequestBodyTooLarge", Message: "The request body is too large and exceeds the maximum permissible limit."}
	// ErrBlobTooLarge: a Put Block List would make a blob over the
	// store's MaxBlobBytes.
	ErrBlobTooLarge = &Error{Status: 400, Code: "InvalidBlobOrBlock", Message: "The specified blob or block content is invalid (the blob would exceed the store's size limit)."}
)

// Integrity errors: a body that does not match the checksum sent with it,
// a checksum header that is no checksum, metadata Azure refuses.
var (
	ErrMD5Mismatch      = &Error{Status: 400, Code: "Md5Mismatch", Message: "The MD5 value specified in the request did not match with the MD5 value calculated by the server."}
	ErrCRC64Mismatch    = &Error{Status: 400, Code: "Crc64Mismatch", Message: "The CRC64 value specified in the request did not match with the CRC64 value calculated by the server."}
	ErrInvalidMD5       = &Error{Status: 400, Code: "InvalidMd5", Message: "The MD5 value specified in the request is invalid. The MD5 value must be 128 bits and Base64-encoded."}
	ErrMetadataTooLarge = &Error{Status: 400, Code: "MetadataTooLarge", Message: "The size of the specified metadata exceeds the maximum size permitted."}
	ErrEmptyMetadataKey = &Error{Status: 400, Code: "EmptyMetadataKey", Message: "The key for one of the metadata key-value pairs is empty."}
)

func errInvalidMetadata(detail string) *Error {
	return &Error{Status: 400, Code: "InvalidMetadata", Message: "The metadata specified is invalid. It has characters that are not permitted (" + detail + ")."}
}

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
