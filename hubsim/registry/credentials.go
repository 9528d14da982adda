package registry

import (
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"strings"

	"github.com/cloudpillar/cloudpillar/hubsim/sas"
)

// normalize fills defaults and rejects impossible identities.
func (d *Device) normalize() error {
	dev, mod := Split(d.ID)
	if dev == "" || strings.Contains(mod, "/") || (strings.Contains(d.ID, "/") && mod == "") {
		return fmt.Errorf("%w: id %q is not {device} or {device}/{module}", ErrInvalid, d.ID)
	}
	if d.Status == "" {
		d.Status = StatusEnabled
	}
	if d.Status != StatusEnabled && d.Status != StatusDisabled {
		return fmt.Errorf("%w: status %q", ErrInvalid, d.Status)
	}
	if d.Auth == "" {
		d.Auth = AuthCertificateAuthority
	}
	switch d.Auth {
	case AuthSAS:
		return d.SymmetricKey.normalize()
	case AuthSelfSigned:
		return d.Thumbprint.validate()
	case AuthCertificateAuthority, AuthNone:
		return nil
	}
	return fmt.Errorf("%w: authentication type %q", ErrInvalid, d.Auth)
}

// normalize generates missing keys (IoT Hub does when none are given) and
// checks that given keys are base64.
func (k *SymmetricKey) normalize() error {
	if k.PrimaryKey == "" {
		k.PrimaryKey = sas.NewKey()
	}
	if k.SecondaryKey == "" {
		k.SecondaryKey = sas.NewKey()
	}
	for _, key := range []string{k.PrimaryKey, k.SecondaryKey} {
		if b, err := base64.StdEncoding.DecodeString(key); err != nil || len(b) < 16 {
			return fmt.Errorf("%w: symmetric key is not base64 of at least 16 bytes", ErrInvalid)
		}
	}
	return nil
}

func (t X509Thumbprint) validate() error {
	if t.PrimaryThumbprint == "" {
		return fmt.Errorf("%w: selfSigned needs a primary thumbprint", ErrInvalid)
	}
	for _, tp := range []string{t.PrimaryThumbprint, t.SecondaryThumbprint} {
		if tp == "" {
			continue
		}
		if _, err := hex.DecodeString(tp); err != nil || (len(tp) != 40 && len(tp) != 64) {
			return fmt.Errorf("%w: thumbprint %q is not SHA-1 or SHA-256 hex", ErrInvalid, tp)
		}
	}
	return nil
}

// Matches reports whether der (a DER certificate) has the primary or the
// secondary thumbprint, by SHA-1 or SHA-256 as the thumbprint's length says.
func (t X509Thumbprint) Matches(der []byte) bool {
	s1 := sha1.Sum(der)
	s256 := sha256.Sum256(der)
	for _, tp := range []string{t.PrimaryThumbprint, t.SecondaryThumbprint} {
		switch len(tp) {
		case 40:
			if strings.EqualFold(tp, hex.EncodeToString(s1[:])) {
				return true
			}
		case 64:
			if strings.EqualFold(tp, hex.EncodeToString(s256[:])) {
				return true
			}
		}
	}
	return false
}

// Thumbprints returns the SHA-1 and SHA-256 thumbprints of a DER
// certificate in upper-case hex, as the Azure portal shows them.
func Thumbprints(der []byte) (sha1Hex, sha256Hex string) {
	s1 := sha1.Sum(der)
	s256 := sha256.Sum256(der)
	return strings.ToUpper(hex.EncodeToString(s1[:])), strings.ToUpper(hex.EncodeToString(s256[:]))
}

// etag formats an etag like IoT Hub's: base64 of a big-endian counter.
func etag(n uint64) string {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], n)
	return base64.StdEncoding.EncodeToString(b[:])
}
