package blob

import (
	"encoding/base64"
	"net/url"
	"strings"
	"unicode/utf8"
)

// Op is a Blob service operation hubsim implements.
type Op int

// Operations, named as in the Azure Blob REST reference.
const (
	OpPutBlob Op = iota + 1
	OpPutBlock
	OpPutBlockList
	OpGetBlob
	OpGetBlobProperties
	OpGetBlockList
)

// Limits of names (Azure Blob naming rules).
const (
	MaxBlobName    = 1024 // bytes
	MaxBlockIDSize = 64   // bytes, decoded
)

// Request is a parsed Blob service request.
type Request struct {
	Op        Op
	Container string
	Blob      string
	// BlockID is the block ID as sent (base64) for Put Block.
	BlockID string
	// ListType is committed, uncommitted or all for Get Block List.
	ListType string
	// Query is the decoded query string (the SAS fields live here).
	Query url.Values
}

// ParseRequest reads method, the escaped URL path (/{container}/{blob})
// and the raw query. Errors are *Error values with Azure's codes.
func ParseRequest(method, escapedPath, rawQuery string) (Request, error) {
	var req Request
	q, err := url.ParseQuery(rawQuery)
	if err != nil {
		return req, errBadQuery("the query string is malformed")
	}
	req.Query = q
	if req.Container, req.Blob, err = splitPath(escapedPath); err != nil {
		return req, err
	}
	if req.Op, err = operation(method, q.Get("comp")); err != nil {
		return req, err
	}
	switch req.Op {
	case OpPutBlock:
		req.BlockID = q.Get("blockid")
		if _, err := DecodeBlockID(req.BlockID); err != nil {
			return req, err
		}
	case OpGetBlockList:
		req.ListType = strings.ToLower(q.Get("blocklisttype"))
		switch req.ListType {
		case "":
			req.ListType = "committed"
		case "committed", "uncommitted", "all":
		default:
			return req, errBadQuery("blocklisttype must be committed, uncommitted or all")
		}
	}
	return req, nil
}

// operation maps the method and comp= to an operation.
func operation(method, comp string) (Op, error) {
	switch {
	case method == "PUT" && comp == "":
		return OpPutBlob, nil
	case method == "PUT" && comp == "block":
		return OpPutBlock, nil
	case method == "PUT" && comp == "blocklist":
		return OpPutBlockList, nil
	case (method == "GET" || method == "HEAD") && comp == "":
		if method == "HEAD" {
			return OpGetBlobProperties, nil
		}
		return OpGetBlob, nil
	case method == "GET" && comp == "blocklist":
		return OpGetBlockList, nil
	case comp != "" && comp != "block" && comp != "blocklist":
		return 0, errBadQuery("comp=" + clip(comp) + " is not supported by hubsim")
	}
	return 0, &Error{Status: 405, Code: "UnsupportedHttpVerb", Message: "The resource doesn't support the specified HTTP verb."}
}

// splitPath decodes /{container}/{blob} and checks both names.
func splitPath(escaped string) (container, blob string, err error) {
	p, uerr := url.PathUnescape(escaped)
	if uerr != nil || !strings.HasPrefix(p, "/") {
		return "", "", errInvalidURI()
	}
	container, blob, _ = strings.Cut(p[1:], "/")
	if !validContainer(container) {
		return "", "", &Error{Status: 400, Code: "InvalidResourceName", Message: "The specified resource name contains invalid characters."}
	}
	if !validBlobName(blob) {
		return "", "", errInvalidURI()
	}
	return container, blob, nil
}

// validContainer: 3-63 lower-case letters, digits and single hyphens,
// starting and ending with a letter or digit.
func validContainer(s string) bool {
	if len(s) < 3 || len(s) > 63 || s[0] == '-' || s[len(s)-1] == '-' || strings.Contains(s, "--") {
		return false
	}
	for _, c := range []byte(s) {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

// validBlobName: 1-1024 bytes of UTF-8 without control characters, not
// ending in '.' or '/', with no empty, "." or ".." path segment.
func validBlobName(s string) bool {
	if s == "" || len(s) > MaxBlobName || !utf8.ValidString(s) || strings.HasSuffix(s, ".") || strings.HasSuffix(s, "/") {
		return false
	}
	for _, r := range s {
		if r < 0x20 || r == 0x7f {
			return false
		}
	}
	for _, seg := range strings.Split(s, "/") {
		if seg == "" || seg == "." || seg == ".." {
			return false
		}
	}
	return true
}

// DecodeBlockID decodes a base64 block ID (at most 64 bytes decoded).
func DecodeBlockID(id string) ([]byte, error) {
	b, err := base64.StdEncoding.DecodeString(id)
	if id == "" || err != nil || len(b) > MaxBlockIDSize {
		return nil, &Error{Status: 400, Code: "InvalidQueryParameterValue",
			Message: "Value for one of the query parameters specified in the request URI is invalid (blockid)."}
	}
	return b, nil
}

func errBadQuery(msg string) *Error {
	return &Error{Status: 400, Code: "InvalidQueryParameterValue", Message: msg}
}

func errInvalidURI() *Error {
	return &Error{Status: 400, Code: "InvalidUri", Message: "The requested URI does not represent any resource on the server."}
}

func clip(s string) string {
	if len(s) > 64 {
		return s[:64] + "..."
	}
	return s
}
