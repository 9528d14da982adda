package dps_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/x509"
	"errors"
	"log/slog"
	"testing"
	"time"

	agenthub "github.com/cloudpillar/cloudpillar/agent/hub"
	"github.com/cloudpillar/cloudpillar/agent/identity"
	"github.com/cloudpillar/cloudpillar/agent/provision"
	"github.com/cloudpillar/cloudpillar/hubsim"
	"github.com/cloudpillar/cloudpillar/hubsim/dps"
	"github.com/cloudpillar/cloudpillar/hubsim/registry"
	"github.com/cloudpillar/cloudpillar/internal/testpki"
)

// world is a hub that trusts only the operational CA and a DPS that
// trusts only the bootstrap CA and registers devices at that hub.
type world struct {
	lab *testpki.LabPKI
	hub *hubsim.Hub
	dps *dps.Server
}

func newWorld(t *testing.T) *world {
	t.Helper()
	lab, err := testpki.NewLabPKI(testpki.LabOptions{})
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(t.Output(), nil))
	h, err := hubsim.New(hubsim.Config{CA: lab.Operational, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	if err := h.Start(); err != nil {
		t.Fatal(err)
	}
	d, err := dps.New(dps.Config{
		Issuer: lab.Operational, IssuerChain: []*x509.Certificate{lab.Intermediate.Cert},
		AssignedHub: h.HostName(), Logger: log,
		Registrar: dps.RegistrarFunc(func(id string, _ bool) error {
			if err := h.CreateDevice(id); err != nil && !errors.Is(err, registry.ErrExists) {
				return err
			}
			return nil
		}),
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := errors.Join(d.Close(ctx), h.Close(ctx)); err != nil {
			t.Error(err)
		}
	})
	err = d.AddGroup(dps.Enrollment{ID: "bootstrap", Attestation: dps.AttestX509, CAs: []*x509.Certificate{lab.Bootstrap.Cert}, IssueCertificates: true})
	if err != nil {
		t.Fatal(err)
	}
	return &world{lab: lab, hub: h, dps: d}
}

// TestTwoPhaseX509 is DESIGN.md decision 4 end to end: a device that has
// only a bootstrap certificate provisions at DPS with a CSR for a key it
// generated, stores the issued chain, connects to the hub with it and
// sends telemetry; the hub refuses the bootstrap certificate.
func TestTwoPhaseX509(t *testing.T) {
	w := newWorld(t)
	const regID = "carto-0042"
	boot, err := w.lab.IssueBootstrap(regID, "")
	if err != nil {
		t.Fatal(err)
	}
	bootTLS := boot.TLS()
	store, err := identity.OpenStore(t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	keyID, signer, err := store.PendingKey(identity.P384)
	if err != nil {
		t.Fatal(err)
	}
	csr, err := identity.CreateCSR(signer, regID)
	if err != nil {
		t.Fatal(err)
	}
	checkCSRHoldsNoPrivateKey(t, store, keyID, csr)

	res, err := provision.Register(t.Context(), provision.Config{
		IDScope: w.dps.IDScope(), RegistrationID: regID, Address: w.dps.Addr(), ServerName: "localhost",
		RootCAs: w.hub.CA().Pool(), Certificate: &bootTLS, CSR: csr, Timeout: 20 * time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	err = store.Replace(identity.Identity{RegistrationID: regID, DeviceID: res.DeviceID, AssignedHub: res.AssignedHub,
		KeyID: keyID, Chain: res.IssuedCertificateChain})
	if err != nil {
		t.Fatal(err)
	}
	cur, _ := store.Current()
	opCert, err := store.Certificate(cur)
	if err != nil {
		t.Fatal(err)
	}
	if dev, err := w.hub.Registry().Get(res.DeviceID); err != nil || dev.Auth != registry.AuthCertificateAuthority {
		t.Fatalf("hub registry after DPS: %+v, %v; want a CA-signed device", dev, err)
	}

	cfg := agenthub.Config{DeviceID: res.DeviceID, HostName: res.AssignedHub, Address: w.hub.MQTTAddr(),
		RootCAs: w.hub.CA().Pool(), Certificate: bootTLS, ConnectTimeout: 10 * time.Second}
	if _, err := agenthub.Connect(t.Context(), cfg, nil); !errors.Is(err, agenthub.ErrUnauthorized) {
		t.Fatalf("hub with the bootstrap certificate: %v, want ErrUnauthorized", err)
	}
	cfg.Certificate = opCert
	s, err := agenthub.Connect(t.Context(), cfg, nil)
	if err != nil {
		t.Fatalf("hub with the operational certificate: %v", err)
	}
	defer s.Close()
	if err := s.SendEvent(t.Context(), regID+"-1-1", []byte(`{"t":1}`), nil); err != nil {
		t.Fatal(err)
	}
	if n := w.hub.Events().DeviceCount(regID); n != 1 {
		t.Fatalf("hub recorded %d messages from %s, want 1", n, regID)
	}
}

// checkCSRHoldsNoPrivateKey: the CSR is for the device key, and the
// private scalar appears nowhere in it.
func checkCSRHoldsNoPrivateKey(t *testing.T, store *identity.Store, keyID string, csrDER []byte) {
	t.Helper()
	req, err := x509.ParseCertificateRequest(csrDER)
	if err != nil {
		t.Fatal(err)
	}
	key, err := store.Keys().Signer(keyID)
	if err != nil {
		t.Fatal(err)
	}
	if !req.PublicKey.(*ecdsa.PublicKey).Equal(key.Public()) {
		t.Fatal("CSR is not for the device key")
	}
	fk := store.Keys().(*identity.FileKeyStore)
	raw, err := readKeyScalar(fk.Path(keyID))
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(csrDER, raw) {
		t.Fatal("the CSR contains the private key")
	}
}
