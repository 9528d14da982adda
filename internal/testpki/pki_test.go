package testpki

import (
	"crypto/x509"
	"os"
	"path/filepath"
	"testing"
)

func TestDeviceCertificateChainsToCAWithDeviceIDAsCN(t *testing.T) {
	ca, err := NewCA("test root")
	if err != nil {
		t.Fatal(err)
	}
	pair, err := ca.IssueDeviceTLS("dev-1")
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(pair.Certificate[0])
	if err != nil {
		t.Fatal(err)
	}
	if leaf.Subject.CommonName != "dev-1" {
		t.Fatalf("CN = %q, want dev-1", leaf.Subject.CommonName)
	}
	_, err = leaf.Verify(x509.VerifyOptions{Roots: ca.Pool(), KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}})
	if err != nil {
		t.Fatalf("verify device cert: %v", err)
	}
	other, _ := NewCA("other root")
	if _, err := leaf.Verify(x509.VerifyOptions{Roots: other.Pool(), KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}}); err == nil {
		t.Fatal("device cert verified against a foreign CA")
	}
}

func TestServerCertificateCoversLocalhostAndLoopback(t *testing.T) {
	ca, _ := NewCA("test root")
	pair, err := ca.IssueServer("localhost", "127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	leaf, _ := x509.ParseCertificate(pair.Certificate[0])
	for _, host := range []string{"localhost", "127.0.0.1"} {
		if err := leaf.VerifyHostname(host); err != nil {
			t.Errorf("VerifyHostname(%q) = %v", host, err)
		}
	}
}

func TestSavedCALoadsBackWithPrivateKeyMode0600(t *testing.T) {
	dir := t.TempDir()
	ca, _ := NewCA("test root")
	if err := ca.Save(dir); err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(filepath.Join(dir, CAKeyFile))
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Fatalf("key mode = %v, want 0600", st.Mode().Perm())
	}
	back, err := LoadCA(dir)
	if err != nil {
		t.Fatal(err)
	}
	if !back.Cert.Equal(ca.Cert) {
		t.Fatal("loaded CA differs")
	}
	if _, _, err := back.IssueDevice("d"); err != nil {
		t.Fatalf("issue from loaded CA: %v", err)
	}
}

func TestLoadCARejectsMissingAndCorruptFiles(t *testing.T) {
	dir := t.TempDir()
	if _, err := LoadCA(dir); err == nil {
		t.Fatal("LoadCA on empty dir succeeded")
	}
	os.WriteFile(filepath.Join(dir, CACertFile), []byte("garbage"), 0o644)
	os.WriteFile(filepath.Join(dir, CAKeyFile), []byte("garbage"), 0o600)
	if _, err := LoadCA(dir); err == nil {
		t.Fatal("LoadCA on corrupt files succeeded")
	}
}
