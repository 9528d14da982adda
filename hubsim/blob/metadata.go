package blob

import (
	"net/http"
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"
)

// MetadataPrefix starts the name of every metadata header
// (x-ms-meta-<name>: <value>).
const MetadataPrefix = "x-ms-meta-"

// MaxMetadataBytes bounds the names and values of a blob's metadata
// together (Azure: 8 KB).
const MaxMetadataBytes = 8 << 10

// ParseMetadata returns the metadata in a Put Blob or Put Block List
// request's headers (nil if none), as Azure reads it (Blob REST "Setting
// and retrieving properties and metadata for Blob service resources"):
// names are C# identifiers, case-insensitive, each given once, and names
// and values together take at most MaxMetadataBytes. Names are returned
// in lower case: Azure keeps the case a name was set in, but net/http has
// already canonicalised it, so hubsim stores one case, and readers
// compare names case-insensitively as Azure requires.
func ParseMetadata(h http.Header) (map[string]string, error) {
	keys := make([]string, 0, len(h))
	for k := range h {
		if len(k) >= len(MetadataPrefix) && strings.EqualFold(k[:len(MetadataPrefix)], MetadataPrefix) {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys) // the first bad header decides the error, the same on every run
	var m map[string]string
	size := 0
	for _, k := range keys {
		name, vs := strings.ToLower(k[len(MetadataPrefix):]), h[k]
		_, dup := m[name]
		switch {
		case name == "":
			return nil, ErrEmptyMetadataKey
		case !validMetadataName(name):
			return nil, errInvalidMetadata("the name " + clip(name) + " is not a C# identifier")
		case dup || len(vs) != 1:
			return nil, errInvalidMetadata("the name " + clip(name) + " is given more than once")
		}
		if m == nil {
			m = map[string]string{}
		}
		m[name] = vs[0]
		size += len(name) + len(vs[0])
	}
	if size > MaxMetadataBytes {
		return nil, ErrMetadataTooLarge
	}
	return m, nil
}

// validMetadataName reports whether s is a C# identifier: a letter or
// '_', then letters, digits, connectors, combining marks and format
// characters. (Keywords and the '@' prefix are not told apart: '@' cannot
// occur in an HTTP header name, and Azure is not known to refuse
// keywords.)
func validMetadataName(s string) bool {
	if s == "" || !utf8.ValidString(s) {
		return false
	}
	for i, r := range s {
		switch {
		case r == '_' || unicode.IsLetter(r) || unicode.Is(unicode.Nl, r):
		case i > 0 && unicode.In(r, unicode.Nd, unicode.Pc, unicode.Mn, unicode.Mc, unicode.Cf):
		default:
			return false
		}
	}
	return true
}

// writeMetadata sets m as x-ms-meta-* response headers, under the names
// as stored (not Go's canonical form).
func writeMetadata(h http.Header, m map[string]string) {
	for name, v := range m {
		h[MetadataPrefix+name] = []string{v}
	}
}
