package identity

import (
	"crypto"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"errors"
	"fmt"
)

// CreateCSR builds a PKCS#10 certificate signing request for the key
// behind s, with subject CN = registrationID as DPS requires (PROTOCOL.md
// §6.1). It returns DER. The request carries only the public key.
func CreateCSR(s crypto.Signer, registrationID string) ([]byte, error) {
	if registrationID == "" {
		return nil, errors.New("create CSR: empty registration id")
	}
	tmpl := &x509.CertificateRequest{Subject: pkix.Name{CommonName: registrationID}}
	der, err := x509.CreateCertificateRequest(rand.Reader, tmpl, s)
	if err != nil {
		return nil, fmt.Errorf("create CSR for %s: %w", registrationID, err)
	}
	return der, nil
}

// EncodeCSR renders a DER CSR the way DPS wants it in the register body's
// "csr" field: standard base64, no PEM armour, no line breaks.
func EncodeCSR(der []byte) string { return base64.StdEncoding.EncodeToString(der) }

// DecodeChain parses an issuedCertificateChain (base64 DER certificates,
// leaf first) into DER certificates and the parsed leaf.
func DecodeChain(chain []string) (ders [][]byte, leaf *x509.Certificate, err error) {
	if len(chain) == 0 {
		return nil, nil, errors.New("certificate chain is empty")
	}
	for i, s := range chain {
		der, err := base64.StdEncoding.DecodeString(s)
		if err != nil {
			return nil, nil, fmt.Errorf("certificate %d of the chain: not base64", i)
		}
		ders = append(ders, der)
	}
	leaf, err = x509.ParseCertificate(ders[0])
	if err != nil {
		return nil, nil, fmt.Errorf("leaf certificate: %w", err)
	}
	return ders, leaf, nil
}
