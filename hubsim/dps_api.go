package hubsim

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"

	"github.com/cloudpillar/cloudpillar/hubsim/dps"
	"github.com/cloudpillar/cloudpillar/hubsim/registry"
	"github.com/cloudpillar/cloudpillar/internal/testpki"
)

// DefaultEnrollmentGroup is the enrollment group a hub's DPS creates unless
// DPSConfig.NoDefaultGroup: X.509 attestation trusting the lab's bootstrap
// issuing CA, with CSR-based certificate issuance on.
const DefaultEnrollmentGroup = "bootstrap"

// DPSConfig turns on the hub's Device Provisioning Service: hubsim/dps on
// its own MQTT/TLS listener, assigning devices to this hub.
type DPSConfig struct {
	// PKI is the lab hierarchy (testpki.NewLabPKI); required. With
	// Config.CA nil the hub's CA becomes PKI.Operational, so the hub trusts
	// operational certificates only and refuses bootstrap ones. DPS issues
	// certificates from PKI.Operational (chain: leaf, operational CA,
	// intermediate) and its TLS server certificate too, so devices trust
	// one anchor, Hub.CA(), for both endpoints.
	PKI *testpki.LabPKI
	// NoDefaultGroup leaves out DefaultEnrollmentGroup.
	NoDefaultGroup bool
	// Options are the other DPS settings: id scope, address, retry-after,
	// assignment delay, throttling, issuance policy, hooks. Issuer,
	// IssuerChain, AssignedHub, Registrar, Logger and Now are filled from
	// the hub when left zero.
	Options dps.Config
}

// dpsEndpoint is the hub's DPS; s is nil unless Config.DPS is set.
type dpsEndpoint struct {
	s *dps.Server
}

// useDPSCA makes the lab's operational CA the hub's CA when DPS is on and
// no CA was given. New calls it before choosing the CA.
func (c *Config) useDPSCA() {
	if c.CA == nil && c.DPS != nil && c.DPS.PKI != nil {
		c.CA = c.DPS.PKI.Operational
	}
}

// newDPS builds the configured DPS (nothing without Config.DPS).
func (h *Hub) newDPS() error {
	d := h.cfg.DPS
	if d == nil {
		return nil
	}
	if d.PKI == nil {
		return errors.New("hubsim: DPS needs a lab PKI (DPSConfig.PKI)")
	}
	if h.ca != d.PKI.Operational {
		return errors.New("hubsim: with DPS, Config.CA must be nil or the lab's operational CA")
	}
	o := d.Options
	if o.Issuer == nil {
		o.Issuer, o.IssuerChain = d.PKI.Operational, []*x509.Certificate{d.PKI.Intermediate.Cert}
	}
	if o.AssignedHub == "" {
		o.AssignedHub = h.cfg.HostName
	}
	if o.Registrar == nil {
		o.Registrar = dpsRegistrar{h}
	}
	if o.Logger == nil {
		o.Logger = h.cfg.Logger.With("subsystem", "dps")
	}
	if o.Now == nil {
		o.Now = h.cfg.Now
	}
	s, err := dps.New(o)
	if err != nil {
		return fmt.Errorf("hubsim: %w", err)
	}
	if !d.NoDefaultGroup {
		err := s.AddGroup(dps.Enrollment{ID: DefaultEnrollmentGroup, Attestation: dps.AttestX509,
			CAs: []*x509.Certificate{d.PKI.Bootstrap.Cert}, IssueCertificates: true})
		if err != nil {
			return fmt.Errorf("hubsim: %w", err)
		}
	}
	h.dps.s = s
	return nil
}

func (h *Hub) startDPS() error {
	if h.dps.s == nil {
		return nil
	}
	return h.dps.s.Start()
}

func (h *Hub) closeDPS(ctx context.Context) error {
	if h.dps.s == nil {
		return nil
	}
	return h.dps.s.Close(ctx)
}

// DPS is the hub's Device Provisioning Service (enrollments,
// registrations), or nil when Config.DPS was not set.
func (h *Hub) DPS() *dps.Server { return h.dps.s }

// DPSAddr is the host:port of the DPS MQTT/TLS endpoint, "" without DPS.
func (h *Hub) DPSAddr() string {
	if h.dps.s == nil {
		return ""
	}
	return h.dps.s.Addr()
}

// IDScope is the DPS id scope, "" without DPS.
func (h *Hub) IDScope() string {
	if h.dps.s == nil {
		return ""
	}
	return h.dps.s.IDScope()
}

// dpsRegistrar registers DPS assignments as CA-signed devices of the hub.
type dpsRegistrar struct{ h *Hub }

// AssignDevice creates the device if needed; reset first deletes it and
// its twin (reprovisioning policy "reset"), keep leaves both as they are.
func (r dpsRegistrar) AssignDevice(id string, reset bool) error {
	if reset {
		r.h.registry.Delete(id)
		r.h.twins.Delete(id)
	}
	if err := r.h.CreateDevice(id); err != nil && !errors.Is(err, registry.ErrExists) {
		return err
	}
	return nil
}
