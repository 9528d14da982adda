package dps

import (
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/cloudpillar/cloudpillar/agent/provision"
	"github.com/cloudpillar/cloudpillar/hubsim/sas"
)

// attested is what CONNECT proved: who the device is and which enrollment
// admitted it.
type attested struct {
	registrationID string
	method         Attestation
	group          bool   // matched an enrollment group
	enrollmentID   string // the matched enrollment's id
}

// errUnauthorized wraps every credential refusal.
var errUnauthorized = errors.New("credential refused")

func refuse(format string, args ...any) error {
	return fmt.Errorf("%w: %s", errUnauthorized, fmt.Sprintf(format, args...))
}

// attest authenticates a CONNECT: client id and user name must name the
// same registration in this id scope, and the password (SAS) or the TLS
// client certificate must match an enrollment (PROTOCOL.md §6).
func (s *Server) attest(clientID, username string, password []byte, conn net.Conn) (attested, error) {
	u, err := provision.ParseUsername(username)
	if err != nil {
		return attested{}, refuse("%v", err)
	}
	switch {
	case !strings.EqualFold(u.IDScope, s.cfg.IDScope):
		return attested{}, refuse("id scope %q is not %q", u.IDScope, s.cfg.IDScope)
	case u.RegistrationID != clientID:
		return attested{}, refuse("user name names %q but client id is %q", u.RegistrationID, clientID)
	}
	if err := provision.ValidateRegistrationID(clientID); err != nil {
		return attested{}, refuse("%v", err)
	}
	if len(password) > 0 {
		return s.attestSAS(clientID, string(password))
	}
	return s.attestX509(clientID, conn)
}

// attestSAS checks a symmetric-key token against the registration's
// individual enrollment, else against each symmetric-key group's derived
// key.
func (s *Server) attestSAS(regID, password string) (attested, error) {
	tok, err := sas.Parse(password)
	if err != nil {
		return attested{}, refuse("%v", err)
	}
	if tok.KeyName != provision.DPSKeyName {
		return attested{}, refuse("token skn %q, want %q", tok.KeyName, provision.DPSKeyName)
	}
	want := provision.Resource(s.cfg.IDScope, regID)
	if !strings.EqualFold(strings.TrimSuffix(tok.ResourceURI(), "/"), want) {
		return attested{}, refuse("token is for %q, not %q", tok.ResourceURI(), want)
	}
	if tok.Expired(s.cfg.Now()) {
		return attested{}, refuse("token expired")
	}
	if e, ok := s.enr.get(false, regID); ok && e.Attestation == AttestSymmetricKey {
		if tok.Verify(e.PrimaryKey, e.SecondaryKey) == nil {
			return attested{regID, AttestSymmetricKey, false, e.ID}, nil
		}
		return attested{}, refuse("token does not verify with the enrollment's key")
	}
	for _, g := range s.enr.groups(AttestSymmetricKey) {
		if tok.Verify(derived(g.PrimaryKey, regID), derived(g.SecondaryKey, regID)) == nil {
			return attested{regID, AttestSymmetricKey, true, g.ID}, nil
		}
	}
	return attested{}, refuse("no symmetric-key enrollment matches")
}

func derived(groupKey, regID string) string {
	if groupKey == "" {
		return ""
	}
	k, err := provision.DeriveKey(groupKey, regID)
	if err != nil {
		return ""
	}
	return k
}

// attestX509 checks the TLS client certificate: leaf CN = registration id,
// then the individual enrollment (exact leaf, or a chain to its CAs), else
// a group whose CA the chain reaches.
func (s *Server) attestX509(regID string, conn net.Conn) (attested, error) {
	chain, err := peerChain(conn)
	if err != nil {
		return attested{}, refuse("%v", err)
	}
	leaf := chain[0]
	if cn := leaf.Subject.CommonName; cn != regID {
		return attested{}, refuse("certificate CN %q is not the registration id %q", cn, regID)
	}
	now := s.cfg.Now()
	if e, ok := s.enr.get(false, regID); ok && e.Attestation == AttestX509 {
		if err := matchIndividual(e, chain, now); err != nil {
			return attested{}, refuse("%v", err)
		}
		return attested{regID, AttestX509, false, e.ID}, nil
	}
	for _, g := range s.enr.groups(AttestX509) {
		if verifyChain(chain, g.CAs, now) == nil {
			return attested{regID, AttestX509, true, g.ID}, nil
		}
	}
	return attested{}, refuse("certificate of %q chains to no enrollment group's CA", regID)
}

func peerChain(conn net.Conn) ([]*x509.Certificate, error) {
	tc, ok := conn.(*tls.Conn)
	if !ok {
		return nil, errors.New("connection is not TLS")
	}
	chain := tc.ConnectionState().PeerCertificates
	if len(chain) == 0 {
		return nil, errors.New("no client certificate and no password")
	}
	return chain, nil
}

func matchIndividual(e Enrollment, chain []*x509.Certificate, now time.Time) error {
	leaf := chain[0]
	if now.Before(leaf.NotBefore) || now.After(leaf.NotAfter) {
		return fmt.Errorf("certificate of %q is expired or not yet valid", e.ID)
	}
	sum := sha256.Sum256(leaf.Raw)
	for _, c := range e.Certificates {
		if sha256.Sum256(c.Raw) == sum {
			return nil
		}
	}
	if len(e.CAs) > 0 {
		return verifyChain(chain, e.CAs, now)
	}
	return fmt.Errorf("certificate of %q is not the enrolled one", e.ID)
}

// verifyChain verifies a presented chain (leaf first) against cas for
// client authentication at now.
func verifyChain(chain, cas []*x509.Certificate, now time.Time) error {
	roots, inter := x509.NewCertPool(), x509.NewCertPool()
	for _, c := range cas {
		roots.AddCert(c)
	}
	for _, c := range chain[1:] {
		inter.AddCert(c)
	}
	_, err := chain[0].Verify(x509.VerifyOptions{
		Roots: roots, Intermediates: inter, CurrentTime: now,
		KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	})
	return err
}
