package query

import (
	"strconv"
	"strings"
	"unicode/utf8"
)

// MaxLength is the longest query text IoT Hub accepts, in bytes.
const MaxLength = 8192

// kind is a token's kind.
type kind int

const (
	tokEOF kind = iota
	tokIdent
	tokNumber
	tokString
	tokPunct // one of * , . ( ) [ ] and the comparison operators
)

// token is one lexeme. text is the identifier, the punctuation, the number
// as written, or the decoded string; off is its byte offset in the source.
type token struct {
	kind kind
	text string
	num  float64
	off  int
}

// describe renders the token for an error message.
func (t token) describe() string {
	switch t.kind {
	case tokEOF:
		return "end of query"
	case tokString:
		return "string " + strconv.Quote(clip(t.text))
	case tokNumber:
		return "number " + t.text
	}
	return "'" + clip(t.text) + "'"
}

// lex splits src into tokens, ending with tokEOF.
func lex(src string) ([]token, error) {
	var toks []token
	for i := 0; ; {
		for i < len(src) && isSpace(src[i]) {
			i++
		}
		if i == len(src) {
			return append(toks, token{kind: tokEOF, off: i}), nil
		}
		t, n, err := lexOne(src, i)
		if err != nil {
			return nil, err
		}
		toks = append(toks, t)
		i += n
	}
}

// lexOne reads the token at src[i:] and returns it with its byte length.
func lexOne(src string, i int) (token, int, error) {
	c := src[i]
	switch {
	case isIdentStart(c):
		n := 1
		for i+n < len(src) && isIdentPart(src[i+n]) {
			n++
		}
		return token{kind: tokIdent, text: src[i : i+n], off: i}, n, nil
	case isDigit(c) || (c == '-' || c == '.') && i+1 < len(src) && isDigit(src[i+1]):
		return lexNumber(src, i)
	case c == '\'' || c == '"':
		return lexString(src, i)
	}
	for _, op := range []string{"<=", ">=", "<>", "!=", "=", "<", ">", "*", ",", ".", "(", ")", "[", "]"} {
		if strings.HasPrefix(src[i:], op) {
			return token{kind: tokPunct, text: op, off: i}, len(op), nil
		}
	}
	r, _ := utf8.DecodeRuneInString(src[i:])
	return token{}, 0, errorAt(src, i, "unexpected character %q", r)
}

func lexNumber(src string, i int) (token, int, error) {
	n := 0
	if src[i] == '-' {
		n++
	}
	n += digits(src[i+n:])
	if i+n < len(src) && src[i+n] == '.' {
		n++
		n += digits(src[i+n:])
	}
	if i+n < len(src) && (src[i+n] == 'e' || src[i+n] == 'E') {
		m := n + 1
		if i+m < len(src) && (src[i+m] == '+' || src[i+m] == '-') {
			m++
		}
		if d := digits(src[i+m:]); d > 0 {
			n = m + d
		}
	}
	text := src[i : i+n]
	f, err := strconv.ParseFloat(text, 64)
	if err != nil {
		return token{}, 0, errorAt(src, i, "bad number %s", clip(text))
	}
	return token{kind: tokNumber, text: text, num: f, off: i}, n, nil
}

func digits(s string) int {
	n := 0
	for n < len(s) && isDigit(s[n]) {
		n++
	}
	return n
}

// lexString reads a quoted string with JSON-style backslash escapes.
func lexString(src string, i int) (token, int, error) {
	quote := src[i]
	var b strings.Builder
	for j := i + 1; j < len(src); {
		c := src[j]
		switch {
		case c == quote:
			return token{kind: tokString, text: b.String(), off: i}, j + 1 - i, nil
		case c != '\\':
			b.WriteByte(c)
			j++
			continue
		}
		r, n := unescape(src[j:])
		if n == 0 {
			return token{}, 0, errorAt(src, j, "bad escape in string")
		}
		b.WriteRune(r)
		j += n
	}
	return token{}, 0, errorAt(src, i, "unterminated string")
}

// unescape decodes the escape at the start of s (which begins with a
// backslash) and returns the rune and the bytes consumed, 0 if invalid.
func unescape(s string) (rune, int) {
	if len(s) < 2 {
		return 0, 0
	}
	switch s[1] {
	case '\\', '\'', '"', '/':
		return rune(s[1]), 2
	case 'b':
		return '\b', 2
	case 'f':
		return '\f', 2
	case 'n':
		return '\n', 2
	case 'r':
		return '\r', 2
	case 't':
		return '\t', 2
	case 'u':
		if len(s) < 6 {
			return 0, 0
		}
		v, err := strconv.ParseUint(s[2:6], 16, 16)
		if err != nil {
			return 0, 0
		}
		return rune(v), 6
	}
	return 0, 0
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }
func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func isIdentStart(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_' || c == '$'
}

func isIdentPart(c byte) bool { return isIdentStart(c) || isDigit(c) }

// clip shortens s for a message.
func clip(s string) string {
	if len(s) > 40 {
		return s[:40] + "..."
	}
	return s
}
