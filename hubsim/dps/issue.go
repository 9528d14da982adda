package dps

import (
	"crypto/x509"
	"encoding/base64"
	"slices"
	"strings"
	"time"

	"github.com/cloudpillar/cloudpillar/internal/testpki"
)

// issueBackdate covers clock skew between DPS and the device.
const issueBackdate = 5 * time.Minute

// issue checks a register request's CSR and signs an operational
// certificate for its public key, returning issuedCertificateChain
// (base64 DER, leaf first). A CSR that is not base64 DER, whose
// signature does not verify (tampered), whose CN is not the registration
// id, or whose key the policy does not accept (weak) is refused with 400.
func (s *Server) issue(csrText, regID string, now time.Time) ([]string, *Error) {
	csr, derr := parseCSR(csrText)
	if derr != nil {
		return nil, derr
	}
	if err := csr.CheckSignature(); err != nil {
		return nil, badRequest("csr signature does not verify")
	}
	if cn := csr.Subject.CommonName; cn != regID {
		return nil, badRequest("csr common name %q is not the registration id %q", cn, regID)
	}
	kt, err := testpki.KeyTypeOf(csr.PublicKey)
	if err != nil {
		return nil, badRequest("csr key refused: %v", err)
	}
	if !slices.Contains(s.cfg.Issuance.KeyTypes, kt) {
		return nil, badRequest("csr key %s refused: policy accepts %v", kt, s.cfg.Issuance.KeyTypes)
	}
	leaf, err := s.cfg.Issuer.SignClient(testpki.ClientTemplate{
		CommonName: regID, NotBefore: now.Add(-issueBackdate), NotAfter: now.Add(s.cfg.Issuance.Validity),
	}, csr.PublicKey)
	if err != nil {
		return nil, &Error{Status: 500, Code: CodeInternal, Message: "certificate issuance failed"}
	}
	chain := []string{b64(leaf.Raw), b64(s.cfg.Issuer.Cert.Raw)}
	for _, c := range s.cfg.IssuerChain {
		chain = append(chain, b64(c.Raw))
	}
	return chain, nil
}

func parseCSR(text string) (*x509.CertificateRequest, *Error) {
	if strings.Contains(text, "-----BEGIN") {
		return nil, badRequest("csr must be base64 DER without PEM armour")
	}
	der, err := base64.StdEncoding.DecodeString(text)
	if err != nil {
		return nil, badRequest("csr is not base64")
	}
	csr, err := x509.ParseCertificateRequest(der)
	if err != nil {
		return nil, badRequest("csr is not a PKCS#10 request")
	}
	return csr, nil
}

func b64(der []byte) string { return base64.StdEncoding.EncodeToString(der) }
