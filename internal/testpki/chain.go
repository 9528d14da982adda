package testpki

import (
	"crypto"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"time"
)

// Validity periods of the lab hierarchy. A certificate never outlives its
// issuer: issuing clamps NotAfter to the issuer's.
const (
	RootValidity         = 20 * 365 * 24 * time.Hour
	IntermediateValidity = 15 * 365 * 24 * time.Hour
	IssuingValidity      = 10 * 365 * 24 * time.Hour
	BootstrapValidity    = 8 * 365 * 24 * time.Hour // a device's service life
	OperationalValidity  = 30 * 24 * time.Hour      // DPS issues 7-90 days (PROTOCOL.md §6.1)
	// backdate covers clock skew between the lab and its devices.
	backdate = 5 * time.Minute
)

// caSpec describes one CA certificate of the hierarchy.
type caSpec struct {
	cn       string
	keyType  KeyType
	pathLen  int // pathLenConstraint: CAs allowed below this one
	validity time.Duration
	usage    []x509.ExtKeyUsage // nil = unrestricted
}

// newCASigned creates a CA certificate for spec, signed by parent, or
// self-signed when parent is nil.
func newCASigned(parent *CA, spec caSpec, now time.Time) (*CA, error) {
	key, err := GenerateKey(spec.keyType)
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial(),
		Subject:               pkix.Name{CommonName: spec.cn, Organization: []string{"Cloud Pillar lab"}},
		NotBefore:             now.Add(-backdate),
		NotAfter:              now.Add(spec.validity),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           spec.usage,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLen:            spec.pathLen,
		MaxPathLenZero:        spec.pathLen == 0,
	}
	issuer, signer := tmpl, key
	if parent != nil {
		issuer, signer = parent.Cert, parent.Key
		clamp(tmpl, issuer)
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, issuer, key.Public(), signer)
	if err != nil {
		return nil, fmt.Errorf("create CA %q: %w", spec.cn, err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	return &CA{Cert: cert, Key: key, CertPEM: encodeCert(der)}, nil
}

// clamp keeps tmpl's validity inside the issuer's.
func clamp(tmpl, issuer *x509.Certificate) {
	if tmpl.NotAfter.After(issuer.NotAfter) {
		tmpl.NotAfter = issuer.NotAfter
	}
	if tmpl.NotBefore.Before(issuer.NotBefore) {
		tmpl.NotBefore = issuer.NotBefore
	}
}

// ClientTemplate is what SignClient puts in a device certificate.
type ClientTemplate struct {
	CommonName string    // the registration or device id
	NotBefore  time.Time // zero = now minus a few minutes of skew allowance
	NotAfter   time.Time // required; clamped to the issuer's NotAfter
}

// SignClient issues a TLS client certificate for pub. Only the public key
// comes from the device: this is how a CSR is honoured without the private
// key ever leaving it.
func (ca *CA) SignClient(t ClientTemplate, pub crypto.PublicKey) (*x509.Certificate, error) {
	if t.CommonName == "" {
		return nil, errors.New("sign client certificate: empty common name")
	}
	if t.NotAfter.IsZero() {
		return nil, errors.New("sign client certificate: no expiry")
	}
	if t.NotBefore.IsZero() {
		t.NotBefore = time.Now().Add(-backdate)
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial(),
		Subject:      pkix.Name{CommonName: t.CommonName},
		NotBefore:    t.NotBefore,
		NotAfter:     t.NotAfter,
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	clamp(tmpl, ca.Cert)
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.Cert, pub, ca.Key)
	if err != nil {
		return nil, fmt.Errorf("sign client certificate for %q: %w", t.CommonName, err)
	}
	return x509.ParseCertificate(der)
}

// Credential is a certificate chain (leaf first, trust anchor excluded) and
// its private key.
type Credential struct {
	Chain []*x509.Certificate
	Key   crypto.Signer
}

// TLS returns the credential as a client certificate that sends the whole
// chain.
func (c *Credential) TLS() tls.Certificate {
	out := tls.Certificate{PrivateKey: c.Key, Leaf: c.Chain[0]}
	for _, cert := range c.Chain {
		out.Certificate = append(out.Certificate, cert.Raw)
	}
	return out
}

// PEM encodes the chain (leaf first) and the private key (PKCS#8).
func (c *Credential) PEM() (chainPEM, keyPEM []byte, err error) {
	keyPEM, err = EncodePrivateKey(c.Key)
	if err != nil {
		return nil, nil, err
	}
	return EncodeCerts(c.Chain...), keyPEM, nil
}

// issueCredential makes a key of type kt and a client certificate for cn
// valid for validity from now; parents are appended after the leaf.
func (ca *CA) issueCredential(cn string, kt KeyType, validity time.Duration, now time.Time, parents ...*x509.Certificate) (*Credential, error) {
	key, err := GenerateKey(kt)
	if err != nil {
		return nil, err
	}
	leaf, err := ca.SignClient(ClientTemplate{CommonName: cn, NotBefore: now.Add(-backdate), NotAfter: now.Add(validity)}, key.Public())
	if err != nil {
		return nil, err
	}
	chain := append([]*x509.Certificate{leaf, ca.Cert}, parents...)
	return &Credential{Chain: chain, Key: key}, nil
}
