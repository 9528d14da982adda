package dps

import (
	"github.com/cloudpillar/cloudpillar/internal/leakcheck"

	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cloudpillar/cloudpillar/agent/identity"
	"github.com/cloudpillar/cloudpillar/agent/provision"
	"github.com/cloudpillar/cloudpillar/internal/testpki"
)

// TestMain fails the run if goroutines outlive the tests (STYLE.md 4).
func TestMain(m *testing.M) { leakcheck.Main(m, 5*time.Second, nil) }

const (
	testHub   = "hub.test"
	bootGroup = "bootstrap"
)

// fixture is a DPS on loopback trusting the lab's bootstrap CA through an
// X.509 enrollment group with certificate issuance on.
type fixture struct {
	lab *testpki.LabPKI
	dps *Server

	mu       sync.Mutex
	assigned []string // "id" or "id reset", guarded by mu
}

func newFixture(t testing.TB, mutate func(*Config)) *fixture {
	t.Helper()
	lab, err := testpki.NewLabPKI(testpki.LabOptions{})
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{lab: lab}
	cfg := Config{
		Issuer:      lab.Operational,
		IssuerChain: []*x509.Certificate{lab.Intermediate.Cert},
		AssignedHub: testHub,
		Registrar:   RegistrarFunc(f.assign),
		Logger:      slog.New(slog.NewTextHandler(t.Output(), nil)),
	}
	if mutate != nil {
		mutate(&cfg)
	}
	if f.dps, err = New(cfg); err != nil {
		t.Fatal(err)
	}
	if err := f.dps.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := f.dps.Close(ctx); err != nil {
			t.Error(err)
		}
	})
	err = f.dps.AddGroup(Enrollment{ID: bootGroup, Attestation: AttestX509, CAs: []*x509.Certificate{lab.Bootstrap.Cert}, IssueCertificates: true})
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func (f *fixture) assign(id string, reset bool) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if reset {
		id += " reset"
	}
	f.assigned = append(f.assigned, id)
	return nil
}

func (f *fixture) assignments() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.assigned...)
}

// bootstrap issues a bootstrap credential for regID from the lab.
func (f *fixture) bootstrap(t testing.TB, regID string) *tls.Certificate {
	t.Helper()
	cred, err := f.lab.IssueBootstrap(regID, "")
	if err != nil {
		t.Fatal(err)
	}
	c := cred.TLS()
	return &c
}

// config is a provisioning config for regID against the fixture.
func (f *fixture) config(t testing.TB, regID string) provision.Config {
	return provision.Config{
		IDScope: f.dps.IDScope(), RegistrationID: regID,
		Address: f.dps.Addr(), ServerName: "localhost", RootCAs: f.lab.ServerRoots(),
		Timeout: 20 * time.Second, PollInterval: 50 * time.Millisecond,
		Logger: slog.New(slog.NewTextHandler(t.Output(), nil)),
	}
}

// csr makes a device key of type kt in a fresh identity store and a CSR
// with the given CN.
func csr(t testing.TB, kt identity.KeyType, cn string) ([]byte, any) {
	t.Helper()
	ks, err := identity.NewFileKeyStore(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	_, signer, err := ks.Generate(kt)
	if err != nil {
		t.Fatal(err)
	}
	der, err := identity.CreateCSR(signer, cn)
	if err != nil {
		t.Fatal(err)
	}
	return der, signer.Public()
}

func register(t testing.TB, cfg provision.Config) (*provision.Result, error) {
	t.Helper()
	return provision.Register(context.Background(), cfg)
}

func wantErrContaining(t testing.TB, err error, target error, text string) {
	t.Helper()
	if err == nil {
		t.Fatalf("registration succeeded, want %v", target)
	}
	if target != nil && !errors.Is(err, target) {
		t.Fatalf("error %v, want %v", err, target)
	}
	if !strings.Contains(err.Error(), text) {
		t.Fatalf("error %q does not mention %q", err, text)
	}
}
