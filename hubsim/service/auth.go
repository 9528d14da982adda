package service

import (
	"crypto/x509"
	"errors"
	"net/http"
	"strings"

	"github.com/cloudpillar/cloudpillar/hubsim/registry"
	"github.com/cloudpillar/cloudpillar/hubsim/sas"
)

// authorizeService admits a service SAS token (sr={hubHost}, skn={policy})
// whose policy has one of the rights sets in anyOf.
func (h *Handler) authorizeService(r *http.Request, anyOf ...sas.Rights) *Error {
	tok, e := h.token(r)
	if e != nil {
		return e
	}
	if tok.KeyName == "" {
		return errUnauthorized("a service call needs a policy token (skn)")
	}
	res := strings.TrimSuffix(tok.ResourceURI(), "/")
	if !strings.EqualFold(res, h.cfg.HostName) && !hasPrefixFold(res, h.cfg.HostName+"/") {
		return errUnauthorized("the token is for another hub")
	}
	var err error
	for _, want := range anyOf {
		if err = sas.Authorize(h.cfg.Policies, tok, want); err == nil {
			return nil
		}
	}
	if errors.Is(err, sas.ErrSignature) {
		return errUnauthorized("the signature does not verify")
	}
	return errUnauthorized("the policy does not grant this operation")
}

// token parses the Authorization header and rejects an expired token.
func (h *Handler) token(r *http.Request) (sas.Token, *Error) {
	v := r.Header.Get("Authorization")
	if v == "" {
		return sas.Token{}, errUnauthorized("no Authorization header")
	}
	tok, err := sas.Parse(v)
	if err != nil {
		return sas.Token{}, errUnauthorized("malformed shared access signature")
	}
	if tok.Expired(h.cfg.Now()) {
		return sas.Token{}, errUnauthorized("the shared access signature has expired")
	}
	return tok, nil
}

// authorizeDevice admits the device named in the path by a device SAS
// token, a policy token with DeviceConnect, or (without an Authorization
// header) the client certificate on the TLS connection: CA-signed with
// CN = device ID, or matching a self-signed device's thumbprint.
func (h *Handler) authorizeDevice(r *http.Request) *Error {
	id := r.PathValue("id")
	if r.Header.Get("Authorization") == "" {
		return h.authorizeCert(r, id)
	}
	tok, e := h.token(r)
	if e != nil {
		return e
	}
	if !h.grants(tok, id) {
		return errUnauthorized("the token is for another resource")
	}
	if tok.KeyName != "" {
		if sas.Authorize(h.cfg.Policies, tok, sas.DeviceConnect) != nil {
			return errUnauthorized("the policy token does not verify or lacks DeviceConnect")
		}
		return nil
	}
	dev, e := h.enabledDevice(id)
	if e != nil {
		return e
	}
	if dev.Auth != registry.AuthSAS || tok.Verify(dev.SymmetricKey.PrimaryKey, dev.SymmetricKey.SecondaryKey) != nil {
		return errUnauthorized("the signature does not verify with the device's keys")
	}
	return nil
}

// grants: the token's resource covers the device. Besides the documented
// forms, amenzhinsky's HTTP transport signs `{host}/{deviceId}`.
func (h *Handler) grants(tok sas.Token, id string) bool {
	return tok.Grants(h.cfg.HostName, id, "") ||
		strings.EqualFold(strings.TrimSuffix(tok.ResourceURI(), "/"), h.cfg.HostName+"/"+id)
}

func (h *Handler) authorizeCert(r *http.Request, id string) *Error {
	if r.TLS == nil || len(r.TLS.PeerCertificates) == 0 {
		return errUnauthorized("no SAS token and no client certificate")
	}
	dev, e := h.enabledDevice(id)
	if e != nil {
		return e
	}
	leaf := r.TLS.PeerCertificates[0]
	switch dev.Auth {
	case registry.AuthSelfSigned:
		if dev.Thumbprint.Matches(leaf.Raw) {
			return nil
		}
	case registry.AuthCertificateAuthority:
		if leaf.Subject.CommonName == id && h.chains(leaf, r.TLS.PeerCertificates[1:]) {
			return nil
		}
	}
	return errUnauthorized("the client certificate does not authenticate this device")
}

// chains reports whether leaf chains to the hub's roots for client auth.
func (h *Handler) chains(leaf *x509.Certificate, rest []*x509.Certificate) bool {
	if h.cfg.Roots == nil {
		return false
	}
	inter := x509.NewCertPool()
	for _, c := range rest {
		inter.AddCert(c)
	}
	_, err := leaf.Verify(x509.VerifyOptions{
		Roots: h.cfg.Roots, Intermediates: inter, CurrentTime: h.cfg.Now(),
		KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	})
	return err == nil
}

// enabledDevice returns the device if it exists and is enabled; the hub
// answers both cases 401 so a caller cannot probe for IDs.
func (h *Handler) enabledDevice(id string) (registry.Device, *Error) {
	dev, err := h.cfg.Registry.Get(id)
	if err != nil {
		return dev, errUnauthorized("unknown device")
	}
	if dev.Status != registry.StatusEnabled {
		return dev, errUnauthorized("the device is disabled")
	}
	return dev, nil
}

func hasPrefixFold(s, prefix string) bool {
	return len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix)
}
