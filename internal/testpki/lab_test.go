package testpki

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/x509"
	"os"
	"path/filepath"
	"testing"
)

func newLab(t testing.TB) *LabPKI {
	t.Helper()
	l, err := NewLabPKI(LabOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func verifyClient(leaf *x509.Certificate, roots *x509.CertPool, inter ...*x509.Certificate) error {
	pool := x509.NewCertPool()
	for _, c := range inter {
		pool.AddCert(c)
	}
	_, err := leaf.Verify(x509.VerifyOptions{Roots: roots, Intermediates: pool,
		KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}})
	return err
}

func TestLabHierarchyConstraints(t *testing.T) {
	l := newLab(t)
	tests := []struct {
		name    string
		ca      *CA
		issuer  *CA
		pathLen int
	}{
		{"root", l.Root, l.Root, 2},
		{"intermediate", l.Intermediate, l.Root, 1},
		{"bootstrap", l.Bootstrap, l.Intermediate, 0},
		{"operational", l.Operational, l.Intermediate, 0},
	}
	for _, tc := range tests {
		c := tc.ca.Cert
		if !c.IsCA || !c.BasicConstraintsValid {
			t.Errorf("%s: IsCA=%v BasicConstraintsValid=%v, want both", tc.name, c.IsCA, c.BasicConstraintsValid)
		}
		if c.MaxPathLen != tc.pathLen || (tc.pathLen == 0 && !c.MaxPathLenZero) {
			t.Errorf("%s: path length %d (zero=%v), want %d", tc.name, c.MaxPathLen, c.MaxPathLenZero, tc.pathLen)
		}
		if c.KeyUsage&x509.KeyUsageCertSign == 0 {
			t.Errorf("%s: key usage %v lacks certSign", tc.name, c.KeyUsage)
		}
		if err := c.CheckSignatureFrom(tc.issuer.Cert); err != nil {
			t.Errorf("%s: not signed by its issuer: %v", tc.name, err)
		}
		if c.NotAfter.After(tc.issuer.Cert.NotAfter) {
			t.Errorf("%s outlives its issuer", tc.name)
		}
	}
	if err := l.Verify(); err != nil {
		t.Fatal(err)
	}
}

func TestLabKeyTypes(t *testing.T) {
	l := newLab(t)
	if k, ok := l.Root.Key.(*ecdsa.PrivateKey); !ok || k.Curve != elliptic.P256() {
		t.Errorf("root key %T, want ECDSA P-256", l.Root.Key)
	}
	if k, ok := l.Operational.Key.(*ecdsa.PrivateKey); !ok || k.Curve != elliptic.P384() {
		t.Errorf("operational key %T, want ECDSA P-384 (CSR profile)", l.Operational.Key)
	}
	if l.Operational.Cert.SignatureAlgorithm != x509.ECDSAWithSHA256 {
		t.Errorf("operational CA signed with %v by a P-256 intermediate", l.Operational.Cert.SignatureAlgorithm)
	}
	rl, err := NewLabPKI(LabOptions{KeyType: RSA2048, OperationalKeyType: RSA2048})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := rl.Bootstrap.Key.(*rsa.PrivateKey); !ok {
		t.Errorf("RSA lab bootstrap key %T", rl.Bootstrap.Key)
	}
	if err := rl.Verify(); err != nil {
		t.Fatal(err)
	}
}

// TestBootstrapCertificateIsTrustedOnlyForDPS is the two-phase split
// (DESIGN.md decision 4): a bootstrap leaf chains to the bootstrap CA (what
// DPS trusts) and never to the operational CA (what the hub trusts).
func TestBootstrapCertificateIsTrustedOnlyForDPS(t *testing.T) {
	l := newLab(t)
	cred, err := l.IssueBootstrap("reg-01", "")
	if err != nil {
		t.Fatal(err)
	}
	leaf := cred.Chain[0]
	if leaf.Subject.CommonName != "reg-01" {
		t.Fatalf("bootstrap CN = %q, want the registration id", leaf.Subject.CommonName)
	}
	if err := verifyClient(leaf, l.BootstrapRoots(), cred.Chain[1:]...); err != nil {
		t.Errorf("bootstrap leaf against the bootstrap CA: %v", err)
	}
	if err := verifyClient(leaf, l.Root.Pool(), cred.Chain[1:]...); err != nil {
		t.Errorf("bootstrap leaf against the root: %v", err)
	}
	if err := verifyClient(leaf, l.ServerRoots(), cred.Chain[1:]...); err == nil {
		t.Error("bootstrap leaf verified against the operational CA (the hub's trust)")
	}
	op, err := l.IssueOperational("reg-01", ECDSAP384)
	if err != nil {
		t.Fatal(err)
	}
	if err := verifyClient(op.Chain[0], l.ServerRoots(), op.Chain[1:]...); err != nil {
		t.Errorf("operational leaf against the operational CA: %v", err)
	}
	if err := verifyClient(op.Chain[0], l.BootstrapRoots(), op.Chain[1:]...); err == nil {
		t.Error("operational leaf verified against the bootstrap CA")
	}
	if pair := cred.TLS(); len(pair.Certificate) != 3 {
		t.Errorf("bootstrap TLS chain has %d certificates, want leaf + 2 CAs", len(pair.Certificate))
	}
}

func TestServerCertFromOperationalCAVerifiesWithServerRoots(t *testing.T) {
	l := newLab(t)
	pair, err := l.Operational.IssueServer("localhost", "127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	leaf, _ := x509.ParseCertificate(pair.Certificate[0])
	if _, err := leaf.Verify(x509.VerifyOptions{Roots: l.ServerRoots(), DNSName: "localhost"}); err != nil {
		t.Fatal(err)
	}
}

func TestLabSaveLoadRoundTripWithKeysMode0600(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "lab")
	l := newLab(t)
	if err := l.Save(dir); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{RootKeyFile, IntermediateKeyFile, BootstrapKeyFile, OperationalKeyFile} {
		st, err := os.Stat(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if st.Mode().Perm() != 0o600 {
			t.Errorf("%s mode = %v, want 0600", name, st.Mode().Perm())
		}
	}
	back, err := LoadLabPKI(dir)
	if err != nil {
		t.Fatal(err)
	}
	if !back.Operational.Cert.Equal(l.Operational.Cert) || !back.Root.Cert.Equal(l.Root.Cert) {
		t.Fatal("loaded lab differs")
	}
	hubCA, err := LoadCA(dir)
	if err != nil {
		t.Fatalf("LoadCA on a lab directory: %v", err)
	}
	if !hubCA.Cert.Equal(l.Operational.Cert) {
		t.Error("LoadCA(lab dir) is not the operational CA")
	}
	if !HasLab(dir) || HasLab(t.TempDir()) {
		t.Error("HasLab wrong")
	}
}

func TestLoadLabRefusesMixedDirectories(t *testing.T) {
	dir := t.TempDir()
	a, b := newLab(t), newLab(t)
	if err := a.Save(dir); err != nil {
		t.Fatal(err)
	}
	keyPEM, _ := EncodePrivateKey(b.Bootstrap.Key)
	if err := WriteFile(filepath.Join(dir, BootstrapKeyFile), keyPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadLabPKI(dir); err == nil {
		t.Fatal("loaded a lab whose bootstrap key belongs to another lab")
	}
	if err := b.Save(dir); err != nil {
		t.Fatal(err)
	}
	if err := WriteFile(filepath.Join(dir, BootstrapCertFile), a.Bootstrap.CertPEM, 0o644); err != nil {
		t.Fatal(err)
	}
	keyPEM, _ = EncodePrivateKey(a.Bootstrap.Key)
	WriteFile(filepath.Join(dir, BootstrapKeyFile), keyPEM, 0o600)
	if _, err := LoadLabPKI(dir); err == nil {
		t.Fatal("loaded a lab whose bootstrap CA chains to another root")
	}
}

func TestParseKeyType(t *testing.T) {
	tests := []struct {
		in   string
		want KeyType
		ok   bool
	}{
		{"", ECDSAP256, true},
		{"ecdsa-p384", ECDSAP384, true},
		{"RSA-2048", RSA2048, true},
		{"rsa-1024", "", false},
	}
	for _, tc := range tests {
		got, err := ParseKeyType(tc.in)
		if got != tc.want || (err == nil) != tc.ok {
			t.Errorf("ParseKeyType(%q) = %q, %v; want %q, ok=%v", tc.in, got, err, tc.want, tc.ok)
		}
	}
	for _, kt := range KeyTypes {
		k, err := GenerateKey(kt)
		if err != nil {
			t.Fatal(err)
		}
		if got, err := KeyTypeOf(k.Public()); got != kt || err != nil {
			t.Errorf("KeyTypeOf(GenerateKey(%s)) = %q, %v", kt, got, err)
		}
		pemKey, err := EncodePrivateKey(k)
		if err != nil {
			t.Fatal(err)
		}
		back, err := ParsePrivateKey(pemKey)
		if err != nil || !publicKeysEqual(back.Public(), k.Public()) {
			t.Errorf("ParsePrivateKey round trip for %s: %v", kt, err)
		}
	}
}
