package twinstore

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"strconv"
	"strings"
	"unicode"
)

// Limits IoT Hub documents for twins (PROTOCOL.md §2.4). Lengths and sizes
// are in UTF-8 bytes.
const (
	MaxKeyBytes    = 1024       // longest property name
	MaxStringBytes = 4096       // longest string value
	MaxDepth       = 10         // deepest nesting of objects and arrays below a section
	MaxSectionSize = 32 * 1024  // desired or reported, measured by sizeOf
	MaxTagsSize    = 8 * 1024   // tags, measured by sizeOf
	MaxSafeInteger = 1<<52 - 1  // 4503599627370495
	MinSafeInteger = -(1 << 52) // -4503599627370496
)

// Section names, as they appear in paths and messages.
const (
	sectionTags     = "tags"
	sectionDesired  = "desired"
	sectionReported = "reported"
)

const jsonWhitespace = " \t\r\n"

// path is a JSON path built on the stack while validating and rendered only
// for an error message: `reported.a.b[2].c`.
type path struct {
	parent  *path
	key     string
	index   int // array index, when isIndex
	isIndex bool
}

// String renders the path, long keys clipped.
func (p *path) String() string {
	switch {
	case p.parent == nil:
		return p.key
	case p.isIndex:
		return p.parent.String() + "[" + strconv.Itoa(p.index) + "]"
	}
	return p.parent.String() + "." + clip(p.key)
}

// decodePatch parses a patch for section: one JSON object, numbers kept as
// json.Number, then validated. Nothing about the stored document is needed.
func decodePatch(section string, b []byte) (map[string]any, error) {
	if len(bytes.Trim(b, jsonWhitespace)) == 0 {
		return nil, invalid("%s patch is empty, want a JSON object", section)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, invalid("%s patch is not valid JSON: %v", section, err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, invalid("%s patch has data after the JSON value", section)
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, invalid("%s patch must be a JSON object, got %s", section, jsonType(v))
	}
	if err := checkObject(&path{key: section}, m, 0); err != nil {
		return nil, err
	}
	return m, nil
}

func jsonType(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case []any:
		return "an array"
	case string:
		return "a string"
	case json.Number:
		return "a number"
	case bool:
		return "a boolean"
	}
	return "an object"
}

// checkObject validates the members of m, which sits depth levels below
// the section.
func checkObject(at *path, m map[string]any, depth int) error {
	for k, v := range m {
		p := path{parent: at, key: k}
		if reason := keyProblem(k); reason != "" {
			return invalid("property %q: %s", p.String(), reason)
		}
		if err := checkValue(&p, v, depth); err != nil {
			return err
		}
	}
	return nil
}

// checkValue validates one value found depth levels below the section.
func checkValue(at *path, v any, depth int) error {
	switch v := v.(type) {
	case map[string]any:
		if depth+1 > MaxDepth {
			return tooDeep(at)
		}
		return checkObject(at, v, depth+1)
	case []any:
		if depth+1 > MaxDepth {
			return tooDeep(at)
		}
		for i, e := range v {
			if err := checkValue(&path{parent: at, index: i, isIndex: true}, e, depth+1); err != nil {
				return err
			}
		}
	case string:
		if len(v) > MaxStringBytes {
			return invalid("property %q: string of %d bytes is longer than %d", at.String(), len(v), MaxStringBytes)
		}
	case json.Number:
		return checkNumber(at, v)
	}
	return nil
}

func tooDeep(at *path) error {
	return invalid("property %q: nesting deeper than %d levels", at.String(), MaxDepth)
}

// keyProblem says what is wrong with a property name, or "".
func keyProblem(k string) string {
	switch {
	case k == "":
		return "empty key"
	case len(k) > MaxKeyBytes:
		return "key longer than " + strconv.Itoa(MaxKeyBytes) + " bytes"
	}
	for _, r := range k {
		switch {
		case r == '.':
			return "key must not contain '.'"
		case r == '$':
			return "key must not contain '$'"
		case r == ' ':
			return "key must not contain a space"
		case unicode.IsControl(r):
			return "key must not contain control characters"
		}
	}
	return ""
}

// checkNumber accepts integers in [MinSafeInteger, MaxSafeInteger] and
// finite floats.
func checkNumber(at *path, n json.Number) error {
	s := string(n)
	if strings.ContainsAny(s, ".eE") {
		if _, err := strconv.ParseFloat(s, 64); err != nil {
			return invalid("property %q: number %s is out of range", at.String(), clip(s))
		}
		return nil
	}
	i, err := strconv.ParseInt(s, 10, 64)
	if err != nil || i < MinSafeInteger || i > MaxSafeInteger {
		return invalid("property %q: integer %s is outside [%d, %d]", at.String(), clip(s), int64(MinSafeInteger), int64(MaxSafeInteger))
	}
	return nil
}

// clip shortens s for a message.
func clip(s string) string {
	if len(s) > 64 {
		return s[:64] + "..."
	}
	return s
}
