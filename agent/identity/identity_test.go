package identity

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// testCA is a throwaway issuing CA (the agent's tests do not use the
// harness PKI).
type testCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
}

func newTestCA(t testing.TB) *testCA {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	return &testCA{cert: cert, key: key}
}

// sign issues a leaf for the public key in csrDER, as DPS would.
func (ca *testCA) sign(t testing.TB, csrDER []byte) []byte {
	t.Helper()
	csr, err := x509.ParseCertificateRequest(csrDER)
	if err != nil {
		t.Fatal(err)
	}
	if err := csr.CheckSignature(); err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: csr.Subject,
		NotBefore: time.Now().Add(-time.Minute), NotAfter: time.Now().Add(time.Hour),
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, csr.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

// provisionInto runs the device side of one issuance into s: pending key,
// CSR, "DPS" signs, Replace.
func provisionInto(t testing.TB, s *Store, ca *testCA, regID, hub string) Identity {
	t.Helper()
	keyID, signer, err := s.PendingKey(P384)
	if err != nil {
		t.Fatal(err)
	}
	csr, err := CreateCSR(signer, regID)
	if err != nil {
		t.Fatal(err)
	}
	id := Identity{RegistrationID: regID, DeviceID: regID, AssignedHub: hub, KeyID: keyID,
		Chain: [][]byte{ca.sign(t, csr), ca.cert.Raw}}
	if err := s.Replace(id); err != nil {
		t.Fatal(err)
	}
	return id
}

func TestFileKeyStoreWritesKeysMode0600AndReloads(t *testing.T) {
	dir := t.TempDir()
	ks, err := NewFileKeyStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, kt := range []KeyType{P256, P384} {
		id, s, err := ks.Generate(kt)
		if err != nil {
			t.Fatal(err)
		}
		st, err := os.Stat(ks.Path(id))
		if err != nil || st.Mode().Perm() != 0o600 {
			t.Fatalf("%s key file: %v mode %v, want 0600", kt, err, st.Mode().Perm())
		}
		back, err := ks.Signer(id)
		if err != nil {
			t.Fatal(err)
		}
		if !back.Public().(*ecdsa.PublicKey).Equal(s.Public()) {
			t.Errorf("%s: reloaded key differs", kt)
		}
		if want := map[KeyType]int{P256: 256, P384: 384}[kt]; back.Public().(*ecdsa.PublicKey).Curve.Params().BitSize != want {
			t.Errorf("%s: wrong curve", kt)
		}
	}
	if _, _, err := ks.Generate("rsa-2048"); err == nil {
		t.Error("generated an unsupported key type")
	}
	if _, err := ks.Signer("../../etc/passwd"); !errors.Is(err, ErrKeyNotFound) {
		t.Errorf("Signer(path traversal) = %v, want ErrKeyNotFound", err)
	}
}

// TestSignerNeverPrintsKeyMaterial: a signer formatted by fmt or slog shows
// its id, never the private scalar.
func TestSignerNeverPrintsKeyMaterial(t *testing.T) {
	ks, _ := NewFileKeyStore(t.TempDir())
	id, s, err := ks.Generate(P256)
	if err != nil {
		t.Fatal(err)
	}
	d := s.(*signer).key.D.String()
	var logged strings.Builder
	slog.New(slog.NewTextHandler(&logged, nil)).Info("key", "signer", s)
	for _, out := range []string{fmt.Sprint(s), fmt.Sprintf("%v %+v %#v %s", s, s, s, s), logged.String()} {
		if strings.Contains(out, d) {
			t.Fatalf("formatted signer leaks the private key: %q", out)
		}
		if !strings.Contains(out, id) {
			t.Errorf("formatted signer %q does not name key %s", out, id)
		}
	}
}

func TestCSRCarriesRegistrationIDAndOnlyThePublicKey(t *testing.T) {
	ks, _ := NewFileKeyStore(t.TempDir())
	_, s, _ := ks.Generate(P384)
	der, err := CreateCSR(s, "reg-01")
	if err != nil {
		t.Fatal(err)
	}
	enc := EncodeCSR(der)
	if strings.ContainsAny(enc, "-\n ") {
		t.Fatalf("EncodeCSR = %q, want bare base64 without PEM armour", enc)
	}
	raw, _ := base64.StdEncoding.DecodeString(enc)
	csr, err := x509.ParseCertificateRequest(raw)
	if err != nil {
		t.Fatal(err)
	}
	if err := csr.CheckSignature(); err != nil {
		t.Fatal(err)
	}
	if csr.Subject.CommonName != "reg-01" {
		t.Errorf("CSR CN = %q, want reg-01", csr.Subject.CommonName)
	}
	if !csr.PublicKey.(*ecdsa.PublicKey).Equal(s.Public()) {
		t.Error("CSR public key is not the device key")
	}
	if _, err := CreateCSR(s, ""); err == nil {
		t.Error("CSR with empty registration id accepted")
	}
}

func TestStoreReplaceKeepsPreviousAndRollsBack(t *testing.T) {
	ca := newTestCA(t)
	s, err := OpenStore(t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Current(); !errors.Is(err, ErrNoIdentity) {
		t.Fatalf("Current on a new store = %v, want ErrNoIdentity", err)
	}
	first := provisionInto(t, s, ca, "reg-01", "hub-a")
	second := provisionInto(t, s, ca, "reg-01", "hub-b")
	if first.KeyID == second.KeyID {
		t.Fatal("renewal reused the retired key")
	}
	if cur, _ := s.Current(); cur.AssignedHub != "hub-b" {
		t.Fatalf("current hub = %q, want hub-b", cur.AssignedHub)
	}
	if prev, _ := s.Previous(); prev.AssignedHub != "hub-a" {
		t.Fatalf("previous hub = %q, want hub-a", prev.AssignedHub)
	}
	if err := s.Rollback(); err != nil {
		t.Fatal(err)
	}
	cur, _ := s.Current()
	if cur.AssignedHub != "hub-a" {
		t.Fatalf("after rollback current hub = %q, want hub-a", cur.AssignedHub)
	}
	pair, err := s.Certificate(cur)
	if err != nil {
		t.Fatal(err)
	}
	if pair.Leaf.Subject.CommonName != "reg-01" || len(pair.Certificate) != 2 {
		t.Errorf("certificate: CN %q, chain %d", pair.Leaf.Subject.CommonName, len(pair.Certificate))
	}
}

func TestStorePrunesKeysThatDropOut(t *testing.T) {
	ca := newTestCA(t)
	s, _ := OpenStore(t.TempDir(), nil)
	a := provisionInto(t, s, ca, "r", "h")
	provisionInto(t, s, ca, "r", "h")
	provisionInto(t, s, ca, "r", "h") // a drops out of previous
	if _, err := s.Keys().Signer(a.KeyID); !errors.Is(err, ErrKeyNotFound) {
		t.Errorf("key of a dropped identity still present: %v", err)
	}
}

func TestStoreRefusesCertificateForAnotherKey(t *testing.T) {
	ca := newTestCA(t)
	s, _ := OpenStore(t.TempDir(), nil)
	keyID, _, _ := s.PendingKey(P384)
	other, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	csr, _ := CreateCSR(other, "r")
	err := s.Replace(Identity{RegistrationID: "r", DeviceID: "r", AssignedHub: "h", KeyID: keyID, Chain: [][]byte{ca.sign(t, csr)}})
	if err == nil || !strings.Contains(err.Error(), "not for the device key") {
		t.Fatalf("Replace with a foreign certificate = %v", err)
	}
	if _, err := s.Current(); !errors.Is(err, ErrNoIdentity) {
		t.Fatal("a refused identity became current")
	}
}

func TestPendingKeyIsReusedUntilConsumed(t *testing.T) {
	ca := newTestCA(t)
	dir := t.TempDir()
	s, _ := OpenStore(dir, nil)
	id1, _, _ := s.PendingKey(P384)
	s2, _ := OpenStore(dir, nil) // a restart
	id2, _, _ := s2.PendingKey(P384)
	if id1 != id2 {
		t.Fatalf("pending key not reused across a restart: %s then %s", id1, id2)
	}
	provisionInto(t, s2, ca, "r", "h")
	id3, _, _ := s2.PendingKey(P384)
	if id3 == id1 {
		t.Fatal("pending key reused after it became an identity's key")
	}
}

// TestCrashBetweenWritesLeavesOldOrNew simulates a crash after Replace
// wrote the previous copy but before it replaced the current file: the
// old identity must still be current and whole.
func TestCrashBetweenWritesLeavesOldOrNew(t *testing.T) {
	ca := newTestCA(t)
	dir := t.TempDir()
	s, _ := OpenStore(dir, nil)
	old := provisionInto(t, s, ca, "r", "hub-old")
	raw, _ := os.ReadFile(filepath.Join(dir, CurrentFile))
	// The state right after step one of a Replace: previous = current.
	if err := writeFileAtomic(filepath.Join(dir, PreviousFile), raw, 0o600); err != nil {
		t.Fatal(err)
	}
	// A torn temp file left by the crash must not matter.
	os.WriteFile(filepath.Join(dir, "."+CurrentFile+".123.tmp"), raw[:10], 0o600)
	s2, _ := OpenStore(dir, nil)
	cur, err := s2.Current()
	if err != nil || cur.KeyID != old.KeyID {
		t.Fatalf("after crash: %v, key %s; want the old identity", err, cur.KeyID)
	}
	if _, err := s2.Certificate(cur); err != nil {
		t.Fatalf("old identity unusable after crash: %v", err)
	}
}

var _ crypto.Signer = (*signer)(nil)
