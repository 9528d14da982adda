package testpki

import (
	"crypto/x509"
	"errors"
	"fmt"
	"time"
)

// DefaultLabName prefixes the common names of a lab's CAs.
const DefaultLabName = "Cloud Pillar lab"

// LabOptions shapes NewLabPKI. The zero value is the default lab.
type LabOptions struct {
	// Name prefixes the CAs' common names. Default DefaultLabName.
	Name string
	// KeyType is the key of the root, intermediate and bootstrap issuing
	// CA. Default ECDSAP256.
	KeyType KeyType
	// OperationalKeyType is the key of the operational issuing CA, which
	// signs what DPS issues. Default ECDSAP384, as the CSR issuance profile
	// (PROTOCOL.md §6.1) issues ECDSA P-384 / SHA-384 certificates.
	OperationalKeyType KeyType
	// Now is the time the hierarchy starts. Zero = time.Now().
	Now time.Time
}

// LabPKI is the two-phase lab hierarchy (DESIGN.md decision 4):
//
//	Root ─ Intermediate ─┬─ Bootstrap     issues manufacturing (birth) certificates: DPS only
//	                     └─ Operational   issues operational certificates: the hub trusts only this CA
//
// Root has path length 2, Intermediate 1, the issuing CAs 0. The bootstrap
// issuing CA is restricted to client authentication; the operational CA
// also signs the lab's TLS server certificates (hub, DPS), so a device
// needs one trust anchor: ServerRoots.
type LabPKI struct {
	Root         *CA
	Intermediate *CA
	Bootstrap    *CA
	Operational  *CA
}

// NewLabPKI generates a fresh lab hierarchy.
func NewLabPKI(opts LabOptions) (*LabPKI, error) {
	if opts.Name == "" {
		opts.Name = DefaultLabName
	}
	if opts.KeyType == "" {
		opts.KeyType = ECDSAP256
	}
	if opts.OperationalKeyType == "" {
		opts.OperationalKeyType = ECDSAP384
	}
	if opts.Now.IsZero() {
		opts.Now = time.Now()
	}
	var (
		l   LabPKI
		err error
	)
	steps := []struct {
		dst    **CA
		parent **CA
		spec   caSpec
	}{
		{&l.Root, nil, caSpec{opts.Name + " root CA", opts.KeyType, 2, RootValidity, nil}},
		{&l.Intermediate, &l.Root, caSpec{opts.Name + " intermediate CA", opts.KeyType, 1, IntermediateValidity, nil}},
		{&l.Bootstrap, &l.Intermediate, caSpec{opts.Name + " bootstrap issuing CA", opts.KeyType, 0, IssuingValidity,
			[]x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}},
		{&l.Operational, &l.Intermediate, caSpec{opts.Name + " operational issuing CA", opts.OperationalKeyType, 0, IssuingValidity, nil}},
	}
	for _, s := range steps {
		var parent *CA
		if s.parent != nil {
			parent = *s.parent
		}
		if *s.dst, err = newCASigned(parent, s.spec, opts.Now); err != nil {
			return nil, fmt.Errorf("lab PKI: %w", err)
		}
	}
	return &l, nil
}

// BootstrapChain is what follows a bootstrap leaf: the bootstrap issuing
// CA and the intermediate (the root is the verifier's anchor).
func (l *LabPKI) BootstrapChain() []*x509.Certificate {
	return []*x509.Certificate{l.Bootstrap.Cert, l.Intermediate.Cert}
}

// OperationalChain is what follows an operational leaf in a DPS
// issuedCertificateChain: the operational issuing CA and the intermediate.
func (l *LabPKI) OperationalChain() []*x509.Certificate {
	return []*x509.Certificate{l.Operational.Cert, l.Intermediate.Cert}
}

// IssueBootstrap issues a device's bootstrap (manufacturing) credential:
// CN = registrationID, a fresh key of type kt ("" = ECDSAP256), and the
// chain leaf, bootstrap CA, intermediate.
func (l *LabPKI) IssueBootstrap(registrationID string, kt KeyType) (*Credential, error) {
	if registrationID == "" {
		return nil, errors.New("issue bootstrap certificate: empty registration id")
	}
	return l.Bootstrap.issueCredential(registrationID, kt, BootstrapValidity, time.Now(), l.Intermediate.Cert)
}

// IssueOperational issues an operational credential directly, bypassing
// DPS (for tests that need a device already provisioned).
func (l *LabPKI) IssueOperational(deviceID string, kt KeyType) (*Credential, error) {
	if deviceID == "" {
		return nil, errors.New("issue operational certificate: empty device id")
	}
	return l.Operational.issueCredential(deviceID, kt, OperationalValidity, time.Now(), l.Intermediate.Cert)
}

// ServerRoots is the trust anchor devices use for the lab's TLS servers
// (hub and DPS): the operational issuing CA, which signs their server
// certificates.
func (l *LabPKI) ServerRoots() *x509.CertPool { return l.Operational.Pool() }

// BootstrapRoots is what a DPS enrollment group trusts for bootstrap
// certificates: the bootstrap issuing CA.
func (l *LabPKI) BootstrapRoots() *x509.CertPool { return l.Bootstrap.Pool() }

// Verify checks that every CA of the lab chains to its root with the
// expected constraints; Load uses it to refuse a mixed-up directory.
func (l *LabPKI) Verify() error {
	roots := l.Root.Pool()
	inter := x509.NewCertPool()
	inter.AddCert(l.Intermediate.Cert)
	for name, ca := range map[string]*CA{"bootstrap": l.Bootstrap, "operational": l.Operational} {
		_, err := ca.Cert.Verify(x509.VerifyOptions{Roots: roots, Intermediates: inter, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}})
		if err != nil {
			return fmt.Errorf("lab PKI: %s issuing CA does not chain to the root: %w", name, err)
		}
		if !ca.Cert.IsCA || ca.Cert.MaxPathLen != 0 {
			return fmt.Errorf("lab PKI: %s issuing CA is not a path-length-0 CA", name)
		}
	}
	return nil
}
