package dps

import (
	"crypto/ecdsa"
	"crypto/x509"
	"encoding/json"
	"errors"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cloudpillar/cloudpillar/agent/identity"
	"github.com/cloudpillar/cloudpillar/agent/provision"
)

// TestX509GroupIssuesOperationalCertificateForCSR is phase 1 of the
// two-phase flow (PROTOCOL.md §6.1-6.2): the bootstrap certificate gets the
// device an operational certificate for the key it generated; only the
// public key travelled.
func TestX509GroupIssuesOperationalCertificateForCSR(t *testing.T) {
	f := newFixture(t, nil)
	cfg := f.config(t, "carto-0001")
	cfg.Certificate = f.bootstrap(t, "carto-0001")
	der, pub := csr(t, identity.P384, "carto-0001")
	cfg.CSR = der
	cfg.Payload = json.RawMessage(`{"site":"lab 1/\u03b1","modelId":"dtmi:x;1"}`)
	res, err := register(t, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if res.AssignedHub != testHub || res.DeviceID != "carto-0001" || res.Substatus != provision.SubstatusInitialAssignment {
		t.Fatalf("result = hub %q device %q substatus %q", res.AssignedHub, res.DeviceID, res.Substatus)
	}
	if res.State.X509 == nil || res.State.X509.EnrollmentGroupID != bootGroup {
		t.Errorf("registration state x509 = %+v, want group %s", res.State.X509, bootGroup)
	}
	var echoed, sent map[string]string
	json.Unmarshal(res.Payload, &echoed)
	json.Unmarshal(cfg.Payload, &sent)
	if echoed["site"] != sent["site"] {
		t.Errorf("payload echoed as %s, want %s", res.Payload, cfg.Payload)
	}
	checkIssued(t, f, res.IssuedCertificateChain, "carto-0001", pub)
	if got := f.assignments(); !slices.Equal(got, []string{"carto-0001"}) {
		t.Errorf("hub registrations = %v", got)
	}
}

func checkIssued(t *testing.T, f *fixture, chain [][]byte, cn string, pub any) {
	t.Helper()
	if len(chain) != 3 {
		t.Fatalf("issued chain has %d certificates, want leaf, operational CA, intermediate", len(chain))
	}
	leaf, err := x509.ParseCertificate(chain[0])
	if err != nil {
		t.Fatal(err)
	}
	if leaf.Subject.CommonName != cn || !leaf.PublicKey.(*ecdsa.PublicKey).Equal(pub) {
		t.Fatalf("issued leaf CN %q, or not for the device key", leaf.Subject.CommonName)
	}
	inter := x509.NewCertPool()
	for _, der := range chain[1:] {
		c, _ := x509.ParseCertificate(der)
		inter.AddCert(c)
	}
	opts := x509.VerifyOptions{Roots: f.lab.ServerRoots(), Intermediates: inter, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}
	if _, err := leaf.Verify(opts); err != nil {
		t.Fatalf("issued leaf does not verify against the operational CA: %v", err)
	}
	if life := leaf.NotAfter.Sub(leaf.NotBefore); life < 29*24*time.Hour || life > 31*24*time.Hour {
		t.Errorf("issued validity %v, want the 30-day default policy", life)
	}
}

func TestPollingHonoursRetryAfterAndAssignDelay(t *testing.T) {
	f := newFixture(t, func(c *Config) { c.RetryAfter = time.Second; c.AssignDelay = 1500 * time.Millisecond })
	cfg := f.config(t, "reg-poll")
	cfg.Certificate = f.bootstrap(t, "reg-poll")
	start := time.Now()
	if _, err := register(t, cfg); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d < 2*time.Second {
		t.Fatalf("assigned after %v; with retry-after=1 and a 1.5 s assignment it takes two polls (>= 2 s)", d)
	}
}

func TestReregistrationFollowsReprovisionPolicy(t *testing.T) {
	f := newFixture(t, nil)
	cfg := f.config(t, "reg-re")
	cfg.Certificate = f.bootstrap(t, "reg-re")
	for _, want := range []string{provision.SubstatusInitialAssignment, provision.SubstatusDeviceDataMigrated} {
		res, err := register(t, cfg)
		if err != nil || res.Substatus != want {
			t.Fatalf("registration: %v, substatus %v; want %s", err, res, want)
		}
	}
	g, _ := f.dps.Group(bootGroup)
	g.Reprovision = ReprovisionReset
	f.dps.AddGroup(g)
	res, err := register(t, cfg)
	if err != nil || res.Substatus != provision.SubstatusDeviceDataReset {
		t.Fatalf("after reset policy: %v, %+v", err, res)
	}
	if got := f.assignments(); !slices.Equal(got, []string{"reg-re", "reg-re", "reg-re reset"}) {
		t.Errorf("hub registrations = %v", got)
	}
}

func TestSymmetricKeyAttestation(t *testing.T) {
	const groupKey = "ccAKzOG3JAuAU/A+4T/n9zAuvv6+xTv0C1S9mT6TqQVcGx3qB1iKLHkMDYK1hLrt+NzeG+U/T46hfAs+H788EA=="
	const individualKey = "nxFT9sFl/38S0dX7CUpJtzW16Hsv+VXEhc1zlI9BU3E="
	f := newFixture(t, nil)
	f.dps.AddGroup(Enrollment{ID: "symgroup", Attestation: AttestSymmetricKey, PrimaryKey: groupKey})
	f.dps.AddEnrollment(Enrollment{ID: "reg-ind", Attestation: AttestSymmetricKey, PrimaryKey: individualKey})
	derivedKey, _ := provision.DeriveKey(groupKey, "reg-sym-01")
	tests := []struct {
		name, regID, key string
		wantErr          error
	}{
		{"derived group key", "reg-sym-01", derivedKey, nil},
		{"individual key", "reg-ind", individualKey, nil},
		{"group key used raw", "reg-sym-02", groupKey, provision.ErrUnauthorized},
		{"wrong individual key", "reg-ind", derivedKey, provision.ErrUnauthorized},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := f.config(t, tc.regID)
			cfg.SymmetricKey = tc.key
			res, err := register(t, cfg)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("Register = %v, want %v", err, tc.wantErr)
			}
			if err == nil && res.DeviceID != tc.regID {
				t.Fatalf("device id %q", res.DeviceID)
			}
		})
	}
}

func TestThrottlingAnswers429WithRetryAfter(t *testing.T) {
	f := newFixture(t, func(c *Config) { c.Throttle = Throttle{PerSecond: 0.001, Burst: 1, RetryAfter: time.Second} })
	cfg := f.config(t, "reg-a")
	cfg.Certificate = f.bootstrap(t, "reg-a")
	if _, err := register(t, cfg); err != nil {
		t.Fatal(err)
	}
	cfg = f.config(t, "reg-b")
	cfg.Certificate = f.bootstrap(t, "reg-b")
	cfg.Timeout = 2500 * time.Millisecond
	_, err := register(t, cfg)
	var de *provision.Error
	if !errors.Is(err, provision.ErrThrottled) || !errors.As(err, &de) || de.Code != CodeThrottled || de.RetryAfter != time.Second {
		t.Fatalf("throttled registration = %v, want 429 errorCode 429001 retry-after 1 s", err)
	}
}

func TestServerErrorIsRetried(t *testing.T) {
	var calls atomic.Int32
	f := newFixture(t, func(c *Config) {
		c.OnRegister = func(string) *Error {
			if calls.Add(1) == 1 {
				return &Error{Status: 503, Code: 503000, Message: "busy"}
			}
			return nil
		}
	})
	cfg := f.config(t, "reg-503")
	cfg.Certificate = f.bootstrap(t, "reg-503")
	if _, err := register(t, cfg); err != nil || calls.Load() != 2 {
		t.Fatalf("Register after one 503 = %v (%d register calls)", err, calls.Load())
	}
}
