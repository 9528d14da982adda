package provision

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"net/url"
	"strconv"
	"time"
)

// DPSKeyName is the skn of a DPS device token (PROTOCOL.md §1.3).
const DPSKeyName = "registration"

// DeriveKey computes an enrollment-group device key:
// Base64(HMAC-SHA256(Base64Decode(groupKey), registrationID)).
func DeriveKey(groupKey, registrationID string) (string, error) {
	k, err := base64.StdEncoding.DecodeString(groupKey)
	if err != nil {
		return "", errors.New("derive device key: group key is not base64")
	}
	m := hmac.New(sha256.New, k)
	m.Write([]byte(registrationID))
	return base64.StdEncoding.EncodeToString(m.Sum(nil)), nil
}

// Resource is the DPS SAS resource of a registration (not yet encoded).
func Resource(idScope, registrationID string) string {
	return idScope + "/registrations/" + registrationID
}

// SASToken makes a DPS symmetric-key token valid until expiry: sr is the
// URL-encoded resource and the signature covers that encoded text, with
// skn=registration.
func SASToken(idScope, registrationID, key string, expiry time.Time) (string, error) {
	k, err := base64.StdEncoding.DecodeString(key)
	if err != nil {
		return "", errors.New("sas token: key is not base64")
	}
	sr := url.QueryEscape(Resource(idScope, registrationID))
	se := strconv.FormatInt(expiry.Unix(), 10)
	sig := signature(k, sr, se)
	return "SharedAccessSignature sr=" + sr + "&sig=" + url.QueryEscape(sig) + "&se=" + se + "&skn=" + DPSKeyName, nil
}

// signature is Base64(HMAC-SHA256(key, sr + "\n" + se)), sr as it appears
// in the token.
func signature(key []byte, sr, se string) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(sr + "\n" + se))
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}
