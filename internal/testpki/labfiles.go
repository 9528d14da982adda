package testpki

import (
	"crypto"
	"fmt"
	"os"
	"path/filepath"
)

// File names of a saved lab (LabPKI.Save). The operational issuing CA is
// saved under the plain CA names (CACertFile, CAKeyFile), so a lab
// directory is also a valid `cloudpillar hub --state` directory whose hub
// trusts only operational certificates, and LoadCA(dir) returns that CA.
const (
	RootCertFile         = "root-ca.pem"
	RootKeyFile          = "root-ca-key.pem"
	IntermediateCertFile = "intermediate-ca.pem"
	IntermediateKeyFile  = "intermediate-ca-key.pem"
	BootstrapCertFile    = "bootstrap-ca.pem"
	BootstrapKeyFile     = "bootstrap-ca-key.pem"
	OperationalCertFile  = CACertFile
	OperationalKeyFile   = CAKeyFile
	// BootstrapChainFile holds the bootstrap issuing CA, the intermediate
	// and the root: what a DPS enrollment group is given.
	BootstrapChainFile = "bootstrap-chain.pem"
)

// labFile is one CA of a lab and the names of its files.
type labFile struct {
	ca        **CA
	cert, key string
}

// labFiles pairs each CA of l with its certificate and key file names.
func (l *LabPKI) labFiles() []labFile {
	return []labFile{
		{&l.Root, RootCertFile, RootKeyFile},
		{&l.Intermediate, IntermediateCertFile, IntermediateKeyFile},
		{&l.Bootstrap, BootstrapCertFile, BootstrapKeyFile},
		{&l.Operational, OperationalCertFile, OperationalKeyFile},
	}
}

// Save writes the lab into dir (created 0700): certificates 0644, private
// keys 0600, each file atomically. Keys are never logged.
func (l *LabPKI) Save(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("save lab PKI: %w", err)
	}
	for _, f := range l.labFiles() {
		ca := *f.ca
		keyPEM, err := EncodePrivateKey(ca.Key)
		if err != nil {
			return err
		}
		if err := WriteFile(filepath.Join(dir, f.key), keyPEM, 0o600); err != nil {
			return err
		}
		if err := WriteFile(filepath.Join(dir, f.cert), ca.CertPEM, 0o644); err != nil {
			return err
		}
	}
	chain := EncodeCerts(l.Bootstrap.Cert, l.Intermediate.Cert, l.Root.Cert)
	return WriteFile(filepath.Join(dir, BootstrapChainFile), chain, 0o644)
}

// LoadLabPKI reads a lab saved by Save and checks that it hangs together.
func LoadLabPKI(dir string) (*LabPKI, error) {
	var l LabPKI
	for _, f := range l.labFiles() {
		ca, err := loadCAFiles(filepath.Join(dir, f.cert), filepath.Join(dir, f.key))
		if err != nil {
			return nil, fmt.Errorf("load lab PKI from %s: %w", dir, err)
		}
		*f.ca = ca
	}
	if err := l.Verify(); err != nil {
		return nil, fmt.Errorf("load lab PKI from %s: %w", dir, err)
	}
	return &l, nil
}

// HasLab reports whether dir holds a saved lab (its root certificate).
func HasLab(dir string) bool {
	_, err := os.Stat(filepath.Join(dir, RootCertFile))
	return err == nil
}

func loadCAFiles(certPath, keyPath string) (*CA, error) {
	certPEM, err := os.ReadFile(certPath)
	if err != nil {
		return nil, err
	}
	certs, err := ParseCerts(certPEM)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Base(certPath), err)
	}
	keyPEM, err := os.ReadFile(keyPath)
	if err != nil {
		return nil, err
	}
	key, err := ParsePrivateKey(keyPEM)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Base(keyPath), err)
	}
	if !publicKeysEqual(certs[0].PublicKey, key.Public()) {
		return nil, fmt.Errorf("%s does not belong to %s", filepath.Base(keyPath), filepath.Base(certPath))
	}
	if !certs[0].IsCA {
		return nil, fmt.Errorf("%s is not a CA certificate", filepath.Base(certPath))
	}
	return &CA{Cert: certs[0], Key: key, CertPEM: encodeCert(certs[0].Raw)}, nil
}

func publicKeysEqual(a, b crypto.PublicKey) bool {
	type equaler interface{ Equal(x crypto.PublicKey) bool }
	ea, ok := a.(equaler)
	return ok && ea.Equal(b)
}
