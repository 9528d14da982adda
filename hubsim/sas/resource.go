package sas

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Grants reports whether the token's resource covers identity on host:
// the decoded sr equals, case-insensitively and ignoring one trailing `/`,
// `{host}` (any identity: amenzhinsky's device tokens and policy tokens),
// `{host}/devices/{device}` (a device, not its modules) or
// `{host}/devices/{device}/modules/{module}` (that module).
func (t Token) Grants(host, deviceID, moduleID string) bool {
	r := strings.TrimSuffix(t.ResourceURI(), "/")
	if strings.EqualFold(r, host) {
		return true
	}
	want := host + "/devices/" + deviceID
	if moduleID != "" {
		want += "/modules/" + moduleID
	}
	return strings.EqualFold(r, want)
}

// Resource is the resource URI (not yet encoded) of a device or, with a
// module ID, a module: `{host}/devices/{device}[/modules/{module}]`.
func Resource(host, deviceID, moduleID string) string {
	r := host + "/devices/" + deviceID
	if moduleID != "" {
		r += "/modules/" + moduleID
	}
	return r
}

// Sign makes a token for resource the way Microsoft's SDKs do: sr is the
// percent-encoded resource and the signature covers that encoded text.
// keyName "" makes a device-key token (no skn). key is base64.
func Sign(resource, key, keyName string, expiry time.Time) (string, error) {
	k, err := base64.StdEncoding.DecodeString(key)
	if err != nil {
		return "", errors.New("sign shared access signature: key is not base64")
	}
	sr := url.QueryEscape(resource)
	se := strconv.FormatInt(expiry.Unix(), 10)
	m := hmac.New(sha256.New, k)
	m.Write([]byte(sr + "\n" + se))
	tok := Prefix + "sr=" + sr + "&sig=" + url.QueryEscape(base64.StdEncoding.EncodeToString(m.Sum(nil))) + "&se=" + se
	if keyName != "" {
		tok += "&skn=" + url.QueryEscape(keyName)
	}
	return tok, nil
}
