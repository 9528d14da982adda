package hubsim_test

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"testing"
	"time"

	agenthub "github.com/cloudpillar/cloudpillar/agent/hub"
	"github.com/cloudpillar/cloudpillar/agent/identity"
	"github.com/cloudpillar/cloudpillar/agent/provision"
	"github.com/cloudpillar/cloudpillar/hubsim"
	"github.com/cloudpillar/cloudpillar/hubsim/dps"
	"github.com/cloudpillar/cloudpillar/internal/testpki"
)

func newDPSHub(t *testing.T, lab *testpki.LabPKI, opts dps.Config) *hubsim.Hub {
	t.Helper()
	h, err := hubsim.New(hubsim.Config{Logger: slog.New(slog.NewTextHandler(t.Output(), nil)),
		DPS: &hubsim.DPSConfig{PKI: lab, Options: opts}})
	if err != nil {
		t.Fatal(err)
	}
	if err := h.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := h.Close(ctx); err != nil {
			t.Error(err)
		}
	})
	return h
}

// provisionDevice runs the device side of phase 1 against the hub's DPS
// and returns the operational certificate.
func provisionDevice(t testing.TB, h *hubsim.Hub, boot tls.Certificate, regID string) (*provision.Result, tls.Certificate) {
	t.Helper()
	store, err := identity.OpenStore(t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	keyID, signer, err := store.PendingKey("")
	if err != nil {
		t.Fatal(err)
	}
	csr, err := identity.CreateCSR(signer, regID)
	if err != nil {
		t.Fatal(err)
	}
	res, err := provision.Register(t.Context(), provision.Config{
		IDScope: h.IDScope(), RegistrationID: regID, Address: h.DPSAddr(), ServerName: "localhost",
		RootCAs: h.CA().Pool(), Certificate: &boot, CSR: csr, Timeout: 20 * time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	id := identity.Identity{RegistrationID: regID, DeviceID: res.DeviceID, AssignedHub: res.AssignedHub, KeyID: keyID, Chain: res.IssuedCertificateChain}
	if err := store.Replace(id); err != nil {
		t.Fatal(err)
	}
	cert, err := store.Certificate(id)
	if err != nil {
		t.Fatal(err)
	}
	return res, cert
}

// TestHubWithDPSTrustsOnlyOperationalCertificates: Config.DPS makes the
// hub's CA the lab's operational CA; a device provisioned through
// Hub.DPSAddr connects with its issued certificate, its bootstrap
// certificate is refused (DESIGN.md decision 4).
func TestHubWithDPSTrustsOnlyOperationalCertificates(t *testing.T) {
	lab, err := testpki.NewLabPKI(testpki.LabOptions{})
	if err != nil {
		t.Fatal(err)
	}
	h := newDPSHub(t, lab, dps.Config{})
	if h.CA() != lab.Operational || h.DPS() == nil || h.IDScope() != dps.DefaultIDScope {
		t.Fatalf("hub CA %v, DPS %v, scope %q: want the lab's operational CA and a DPS", h.CA().Cert.Subject, h.DPS(), h.IDScope())
	}
	boot, _ := lab.IssueBootstrap("carto-0007", "")
	res, opCert := provisionDevice(t, h, boot.TLS(), "carto-0007")
	if res.AssignedHub != h.HostName() || res.Substatus != provision.SubstatusInitialAssignment {
		t.Fatalf("assigned to %q (%s)", res.AssignedHub, res.Substatus)
	}
	cfg := agenthub.Config{DeviceID: "carto-0007", HostName: h.HostName(), Address: h.MQTTAddr(),
		RootCAs: h.CA().Pool(), Certificate: boot.TLS(), ConnectTimeout: 10 * time.Second}
	if _, err := agenthub.Connect(t.Context(), cfg, nil); !errors.Is(err, agenthub.ErrUnauthorized) {
		t.Fatalf("hub with the bootstrap certificate: %v, want ErrUnauthorized", err)
	}
	cfg.Certificate = opCert
	s, err := agenthub.Connect(t.Context(), cfg, nil)
	if err != nil {
		t.Fatalf("hub with the operational certificate: %v", err)
	}
	s.Close()
}

// TestDPSResetPolicyResetsTheTwin: reprovisioning under the reset policy
// recreates the device with a fresh twin; the default keeps it.
func TestDPSResetPolicyResetsTheTwin(t *testing.T) {
	lab, _ := testpki.NewLabPKI(testpki.LabOptions{})
	h := newDPSHub(t, lab, dps.Config{})
	boot, _ := lab.IssueBootstrap("carto-0008", "")
	provisionDevice(t, h, boot.TLS(), "carto-0008")
	if _, err := h.UpdateDesired("carto-0008", []byte(`{"telemetryIntervalSeconds":5}`)); err != nil {
		t.Fatal(err)
	}
	res, _ := provisionDevice(t, h, boot.TLS(), "carto-0008")
	if tw, _ := h.Twin("carto-0008"); res.Substatus != provision.SubstatusDeviceDataMigrated || tw.Desired.Version != 2 {
		t.Fatalf("keep-twin reprovision: substatus %s, desired $version %d; want migrated, 2", res.Substatus, tw.Desired.Version)
	}
	g, _ := h.DPS().Group(hubsim.DefaultEnrollmentGroup)
	g.Reprovision = dps.ReprovisionReset
	h.DPS().AddGroup(g)
	res, _ = provisionDevice(t, h, boot.TLS(), "carto-0008")
	if tw, _ := h.Twin("carto-0008"); res.Substatus != provision.SubstatusDeviceDataReset || tw.Desired.Version != 1 {
		t.Fatalf("reset reprovision: substatus %s, desired $version %d; want reset, 1", res.Substatus, tw.Desired.Version)
	}
}

func TestDPSNeedsTheLabCA(t *testing.T) {
	lab, _ := testpki.NewLabPKI(testpki.LabOptions{})
	other, _ := testpki.NewCA("other")
	if _, err := hubsim.New(hubsim.Config{CA: other, DPS: &hubsim.DPSConfig{PKI: lab}}); err == nil {
		t.Fatal("a hub with DPS accepted a CA that is not the lab's operational CA")
	}
	if _, err := hubsim.New(hubsim.Config{DPS: &hubsim.DPSConfig{}}); err == nil {
		t.Fatal("a hub with DPS accepted no lab PKI")
	}
	h, err := hubsim.New(hubsim.Config{})
	if err != nil || h.DPS() != nil || h.DPSAddr() != "" || h.IDScope() != "" {
		t.Fatalf("a hub without DPS: %v, %v %q %q", err, h.DPS(), h.DPSAddr(), h.IDScope())
	}
}

// BenchmarkFirstBootToTelemetry measures one device's first boot, one at a
// time: key generation, CSR, registration at the hub's DPS, storing the
// identity, connecting to the hub with the issued certificate and the
// first telemetry message acknowledged.
func BenchmarkFirstBootToTelemetry(b *testing.B) {
	lab, _ := testpki.NewLabPKI(testpki.LabOptions{})
	h, err := hubsim.New(hubsim.Config{DPS: &hubsim.DPSConfig{PKI: lab}})
	if err != nil {
		b.Fatal(err)
	}
	if err := h.Start(); err != nil {
		b.Fatal(err)
	}
	defer h.Close(context.Background())
	boots := make([]tls.Certificate, b.N)
	for i := range boots {
		c, _ := lab.IssueBootstrap(fmt.Sprintf("boot-%06d", i), "")
		boots[i] = c.TLS()
	}
	b.ResetTimer()
	for i := range b.N {
		id := fmt.Sprintf("boot-%06d", i)
		_, cert := provisionDevice(b, h, boots[i], id)
		s, err := agenthub.Connect(context.Background(), agenthub.Config{DeviceID: id, HostName: h.HostName(),
			Address: h.MQTTAddr(), RootCAs: h.CA().Pool(), Certificate: cert}, nil)
		if err != nil {
			b.Fatal(err)
		}
		if err := s.SendEvent(context.Background(), id+"-1-1", []byte(`{}`), nil); err != nil {
			b.Fatal(err)
		}
		s.Close()
	}
}
