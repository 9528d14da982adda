package dps

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"testing"
	"time"

	"github.com/cloudpillar/cloudpillar/agent/identity"
	"github.com/cloudpillar/cloudpillar/agent/provision"
	"github.com/cloudpillar/cloudpillar/internal/testpki"
)

// TestBadCSRsAreRefused covers the CSR rules (PROTOCOL.md §6.1): CN must be
// the registration id, the signature must verify, the key must meet the
// policy. Nothing reaches the hub.
func TestBadCSRsAreRefused(t *testing.T) {
	f := newFixture(t, nil)
	good, _ := csr(t, identity.P384, "reg-csr")
	tampered := append([]byte(nil), good...)
	tampered[len(tampered)-3] ^= 0xff // inside the signature
	wrongCN, _ := csr(t, identity.P384, "someone-else")
	weak, _ := csr(t, identity.P256, "reg-csr")
	tests := []struct {
		name string
		csr  []byte
		want string
	}{
		{"CN is not the registration id", wrongCN, `csr common name "someone-else" is not the registration id "reg-csr"`},
		{"tampered signature", tampered, "csr signature does not verify"},
		{"key below the P-384 policy", weak, "csr key ecdsa-p256 refused"},
		{"not a CSR", []byte("garbage"), "csr is not a PKCS#10 request"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := f.config(t, "reg-csr")
			cfg.Certificate = f.bootstrap(t, "reg-csr")
			cfg.CSR = tc.csr
			_, err := register(t, cfg)
			wantErrContaining(t, err, provision.ErrBadRequest, tc.want)
			wantErrContaining(t, err, nil, "400004")
		})
	}
	if got := f.assignments(); len(got) != 0 {
		t.Fatalf("refused CSRs registered devices at the hub: %v", got)
	}
}

func TestIssuancePolicyCanAcceptP256(t *testing.T) {
	f := newFixture(t, func(c *Config) { c.Issuance.KeyTypes = []testpki.KeyType{testpki.ECDSAP256, testpki.ECDSAP384} })
	cfg := f.config(t, "reg-256")
	cfg.Certificate = f.bootstrap(t, "reg-256")
	cfg.CSR, _ = csr(t, identity.P256, "reg-256")
	if _, err := register(t, cfg); err != nil {
		t.Fatal(err)
	}
}

func TestCredentialsRefusedAtConnect(t *testing.T) {
	f := newFixture(t, nil)
	foreign, _ := testpki.NewLabPKI(testpki.LabOptions{})
	foreignCred, _ := foreign.IssueBootstrap("reg-x", "")
	foreignTLS := foreignCred.TLS()
	opCred, _ := f.lab.IssueOperational("reg-x", "")
	opTLS := opCred.TLS()
	tests := []struct {
		name  string
		regID string
		cert  *tls.Certificate
		scope string
	}{
		{"bootstrap certificate from an unknown CA", "reg-x", &foreignTLS, ""},
		{"leaf CN is not the registration id", "reg-y", f.bootstrap(t, "reg-x"), ""},
		{"operational certificate is not a bootstrap credential", "reg-x", &opTLS, ""},
		{"wrong id scope", "reg-x", f.bootstrap(t, "reg-x"), "0ne00OTHER0"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := f.config(t, tc.regID)
			cfg.Certificate = tc.cert
			if tc.scope != "" {
				cfg.IDScope = tc.scope
			}
			_, err := register(t, cfg)
			wantErrContaining(t, err, provision.ErrUnauthorized, "refused")
		})
	}
}

func TestExpiredBootstrapCertificateIsRefused(t *testing.T) {
	f := newFixture(t, func(c *Config) { c.Now = func() time.Time { return time.Now().Add(9 * 365 * 24 * time.Hour) } })
	cfg := f.config(t, "reg-old")
	cfg.Certificate = f.bootstrap(t, "reg-old") // valid 8 years
	_, err := register(t, cfg)
	wantErrContaining(t, err, provision.ErrUnauthorized, "refused")
}

func TestDisabledEnrollmentAnswersDisabled(t *testing.T) {
	f := newFixture(t, nil)
	if err := f.dps.SetDisabled(true, bootGroup, true); err != nil {
		t.Fatal(err)
	}
	cfg := f.config(t, "reg-off")
	cfg.Certificate = f.bootstrap(t, "reg-off")
	_, err := register(t, cfg)
	wantErrContaining(t, err, provision.ErrDisabled, "disabled")
	if len(f.assignments()) != 0 {
		t.Fatal("a disabled enrollment registered a device at the hub")
	}
}

func TestIndividualX509EnrollmentTakesPrecedence(t *testing.T) {
	f := newFixture(t, nil)
	cert := f.bootstrap(t, "reg-ind")
	leaf, _ := x509.ParseCertificate(cert.Certificate[0])
	f.dps.AddEnrollment(Enrollment{ID: "reg-ind", Attestation: AttestX509, Certificates: []*x509.Certificate{leaf}, Disabled: true})
	cfg := f.config(t, "reg-ind")
	cfg.Certificate = cert
	_, err := register(t, cfg)
	wantErrContaining(t, err, provision.ErrDisabled, "disabled")
	other := f.bootstrap(t, "reg-ind") // same CN, another certificate
	cfg.Certificate = other
	_, err = register(t, cfg)
	wantErrContaining(t, err, provision.ErrUnauthorized, "refused")
}

func TestCSRWithoutIssuanceEnabledIsRefused(t *testing.T) {
	f := newFixture(t, nil)
	g, _ := f.dps.Group(bootGroup)
	g.IssueCertificates = false
	f.dps.AddGroup(g)
	cfg := f.config(t, "reg-noiss")
	cfg.Certificate = f.bootstrap(t, "reg-noiss")
	cfg.CSR, _ = csr(t, identity.P384, "reg-noiss")
	_, err := register(t, cfg)
	wantErrContaining(t, err, provision.ErrBadRequest, "certificate issuance is not enabled")
}

func TestASCIIJSONEscapesNonASCII(t *testing.T) {
	got := string(asciiJSON(map[string]string{"s": "lab 1/\u03b1 \U0001F600"}))
	want := `{"s":"lab 1/\u03b1 \ud83d\ude00"}`
	if got != want {
		t.Fatalf("asciiJSON = %s, want %s", got, want)
	}
	for _, r := range got {
		if r >= 0x80 {
			t.Fatal("non-ASCII byte in a DPS answer")
		}
	}
}

func FuzzIssue(f *testing.F) {
	lab, _ := testpki.NewLabPKI(testpki.LabOptions{})
	s, err := New(Config{Issuer: lab.Operational, AssignedHub: "h"})
	if err != nil {
		f.Fatal(err)
	}
	ks, _ := identity.NewFileKeyStore(f.TempDir())
	_, signer, _ := ks.Generate(identity.P384)
	der, _ := identity.CreateCSR(signer, "r")
	f.Add(base64.StdEncoding.EncodeToString(der))
	f.Add("-----BEGIN CERTIFICATE REQUEST-----")
	f.Add("")
	f.Fuzz(func(t *testing.T, text string) {
		chain, e := s.issue(text, "r", time.Now())
		if (e == nil) == (chain == nil) {
			t.Fatalf("issue(%q) = %v, %v", text, chain, e)
		}
	})
}

func FuzzRegisterBody(f *testing.F) {
	f.Add([]byte(`{"registrationId":"r","payload":{"a":1},"csr":"AAAA"}`))
	f.Add([]byte(`{"registrationId":"R"}`))
	f.Add([]byte(`[]`))
	s := &Server{}
	f.Fuzz(func(t *testing.T, body []byte) {
		req, e := s.checkRequest(attested{registrationID: "r"}, body)
		if e == nil && req.RegistrationID != "r" && req.RegistrationID != "R" {
			t.Fatalf("accepted body for %q", req.RegistrationID)
		}
	})
}
