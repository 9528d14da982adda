package sas

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Prefix starts every token.
const Prefix = "SharedAccessSignature "

// MaxTokenLength bounds what Parse reads; longer input is malformed.
const MaxTokenLength = 4096

// Errors Parse and the checks wrap; callers branch with errors.Is. Their
// text never repeats a signature or key.
var (
	ErrMalformed = errors.New("malformed shared access signature")
	ErrExpired   = errors.New("shared access signature expired")
	ErrSignature = errors.New("shared access signature does not verify")
	ErrResource  = errors.New("shared access signature is for another resource")
	ErrPolicy    = errors.New("shared access policy not allowed")
)

// Token is a parsed shared access signature.
type Token struct {
	// Resource is sr exactly as received (percent-encoded or not); it is
	// what the signature covers.
	Resource string
	// Signature is sig, percent-decoded: base64 text.
	Signature string
	// Expiry is se exactly as received (Unix seconds); also signed.
	Expiry string
	// ExpiresAt is Expiry as a time.
	ExpiresAt time.Time
	// KeyName is skn, percent-decoded; "" for a device-key token.
	KeyName string
}

// Parse reads a token. Fields are `name=value` separated by `&`, in any
// order; sr, sig and se are required, skn is optional, unknown fields are
// ignored, a repeated field is an error.
func Parse(s string) (Token, error) {
	if len(s) > MaxTokenLength {
		return Token{}, fmt.Errorf("%w: longer than %d bytes", ErrMalformed, MaxTokenLength)
	}
	if len(s) < len(Prefix) || !strings.EqualFold(s[:len(Prefix)], Prefix) {
		return Token{}, fmt.Errorf("%w: does not start with %q", ErrMalformed, Prefix)
	}
	f, err := fields(strings.TrimLeft(s[len(Prefix):], " "))
	if err != nil {
		return Token{}, err
	}
	return f.token()
}

// Field indexes in raw.
const (
	fieldSR = iota
	fieldSig
	fieldSE
	fieldSKN
)

var fieldNames = [...]string{"sr", "sig", "se", "skn"}

// raw holds the fields as received; set records which were present.
type raw struct {
	v   [4]string
	set [4]bool
}

func fields(s string) (raw, error) {
	var r raw
	for s != "" {
		var kv string
		kv, s, _ = strings.Cut(s, "&")
		k, v, _ := strings.Cut(kv, "=")
		i := fieldIndex(k)
		if i < 0 {
			continue
		}
		if r.set[i] {
			return raw{}, fmt.Errorf("%w: field %s repeated", ErrMalformed, k)
		}
		r.set[i], r.v[i] = true, v
	}
	return r, nil
}

func fieldIndex(k string) int {
	for i, name := range fieldNames {
		if strings.EqualFold(k, name) {
			return i
		}
	}
	return -1
}

func (r raw) token() (Token, error) {
	for i := fieldSR; i <= fieldSE; i++ {
		if r.v[i] == "" {
			return Token{}, fmt.Errorf("%w: missing %s", ErrMalformed, fieldNames[i])
		}
	}
	sig, err := url.PathUnescape(r.v[fieldSig]) // not QueryUnescape: a raw '+' in base64 stays '+'
	if err != nil {
		return Token{}, fmt.Errorf("%w: sig is not percent-encoded correctly", ErrMalformed)
	}
	se, err := strconv.ParseInt(r.v[fieldSE], 10, 64)
	if err != nil || se < 0 {
		return Token{}, fmt.Errorf("%w: se %q is not Unix seconds", ErrMalformed, clip(r.v[fieldSE]))
	}
	t := Token{Resource: r.v[fieldSR], Signature: sig, Expiry: r.v[fieldSE], ExpiresAt: time.Unix(se, 0)}
	if r.set[fieldSKN] {
		if t.KeyName, err = url.PathUnescape(r.v[fieldSKN]); err != nil || t.KeyName == "" {
			return Token{}, fmt.Errorf("%w: bad skn", ErrMalformed)
		}
	}
	return t, nil
}

func clip(s string) string {
	if len(s) > 32 {
		return s[:32] + "..."
	}
	return s
}

// Verify checks the signature against each key in turn (base64 text, as a
// registry holds it: primary, then secondary); empty keys are skipped. It
// returns nil if one matches, else an error wrapping ErrSignature.
func (t Token) Verify(keys ...string) error {
	want, err := base64.StdEncoding.DecodeString(t.Signature)
	if err != nil {
		return fmt.Errorf("%w: sig is not base64", ErrSignature)
	}
	for _, k := range keys {
		if k != "" && hmac.Equal(mac(k, t.Resource, t.Expiry), want) {
			return nil
		}
	}
	return ErrSignature
}

// mac is HMAC-SHA256(base64-decoded key, sr + "\n" + se); nil for a key
// that is not base64.
func mac(key, sr, se string) []byte {
	k, err := base64.StdEncoding.DecodeString(key)
	if err != nil {
		return nil
	}
	m := hmac.New(sha256.New, k)
	m.Write([]byte(sr))
	m.Write([]byte{'\n'})
	m.Write([]byte(se))
	return m.Sum(nil)
}

// Expired reports whether the token is no longer valid at now (se is the
// first second it is invalid).
func (t Token) Expired(now time.Time) bool { return !now.Before(t.ExpiresAt) }

// ResourceURI is sr percent-decoded (leniently: a bad escape stays as is).
func (t Token) ResourceURI() string {
	if u, err := url.PathUnescape(t.Resource); err == nil {
		return u
	}
	return t.Resource
}
