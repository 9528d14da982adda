package features

import (
	"context"
	"crypto/ecdsa"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/cucumber/godog"

	agenthub "github.com/cloudpillar/cloudpillar/agent/hub"
	"github.com/cloudpillar/cloudpillar/agent/identity"
	"github.com/cloudpillar/cloudpillar/agent/provision"
	"github.com/cloudpillar/cloudpillar/hubsim"
	"github.com/cloudpillar/cloudpillar/hubsim/dps"
	"github.com/cloudpillar/cloudpillar/hubsim/registry"
	"github.com/cloudpillar/cloudpillar/internal/testpki"
)

// provisionTimeout bounds one registration at the provisioning service.
const provisionTimeout = 15 * time.Second

// identityWorld is the state of an identity scenario: the lab PKI, the
// provisioning service, and one device's credentials and results.
type identityWorld struct {
	w   *world
	lab *testpki.LabPKI
	dps *dps.Server

	regID   string
	boot    tls.Certificate
	dir     string // the device's identity store directory
	store   *identity.Store
	keyID   string
	result  *provision.Result
	regErr  error // what the last registration returned
	connErr error // what the last hub connection attempt returned
	session *agenthub.Session
}

func (w *world) registerIdentitySteps(sc *godog.ScenarioContext) {
	iw := &identityWorld{w: w}
	sc.Step(`^a provisioning service that trusts only the bootstrap CA and a hub that trusts only the operational CA$`, iw.startLab)
	sc.Step(`^device "([^"]*)" has only a bootstrap certificate$`, iw.hasBootstrap)
	sc.Step(`^the device provisions with a signing request for a key it generated$`, iw.provision)
	sc.Step(`^the device provisions with a signing request that (.+)$`, iw.provisionDefective)
	sc.Step(`^the service assigns it to the hub with an operational certificate for that key$`, iw.assigned)
	sc.Step(`^the device connects to the hub with its operational certificate$`, iw.connectOperational)
	sc.Step(`^the hub records a message sent by "([^"]*)"$`, iw.hubRecordsMessage)
	sc.Step(`^the device connects to the hub with its bootstrap certificate$`, iw.connectBootstrap)
	sc.Step(`^the hub refuses the device's identity$`, iw.hubRefuses)
	sc.Step(`^the service refuses the registration with status (\d+) naming "([^"]*)"$`, iw.refused)
	sc.Step(`^the hub does not know device "([^"]*)"$`, iw.hubDoesNotKnow)
	sc.Step(`^the bootstrap enrollment group is disabled$`, iw.disableGroup)
	sc.Step(`^the service answers that the registration is disabled$`, iw.answeredDisabled)
	sc.After(func(ctx context.Context, _ *godog.Scenario, err error) (context.Context, error) {
		return ctx, iw.close()
	})
}

func (iw *identityWorld) close() error {
	if iw.session != nil {
		iw.session.Close()
	}
	if iw.dir != "" {
		return os.RemoveAll(iw.dir)
	}
	return nil
}

func (iw *identityWorld) hasBootstrap(id string) (err error) {
	cred, err := iw.lab.IssueBootstrap(id, "")
	if err != nil {
		return err
	}
	iw.regID, iw.boot = id, cred.TLS()
	if iw.dir, err = os.MkdirTemp("", "identity-"); err != nil {
		return err
	}
	iw.store, err = identity.OpenStore(iw.dir, nil)
	return err
}

// provision registers with a CSR for a fresh P-384 device key.
func (iw *identityWorld) provision(ctx context.Context) error {
	csr, err := iw.csr(identity.P384, iw.regID)
	if err != nil {
		return err
	}
	iw.register(ctx, csr)
	return nil
}

// provisionDefective registers with a CSR that breaks one rule.
func (iw *identityWorld) provisionDefective(ctx context.Context, defect string) error {
	var csr []byte
	var err error
	switch defect {
	case "names another device":
		csr, err = iw.csr(identity.P384, "carto-9999")
	case "was tampered with after signing":
		if csr, err = iw.csr(identity.P384, iw.regID); err == nil {
			csr[len(csr)-3] ^= 0xff // a byte of the signature
		}
	case "uses a key weaker than P-384":
		csr, err = iw.csr(identity.P256, iw.regID)
	default:
		return fmt.Errorf("unknown CSR defect %q", defect)
	}
	if err != nil {
		return err
	}
	iw.register(ctx, csr)
	return nil
}

func (iw *identityWorld) csr(kt identity.KeyType, cn string) ([]byte, error) {
	keyID, signer, err := iw.store.PendingKey(kt)
	if err != nil {
		return nil, err
	}
	iw.keyID = keyID
	return identity.CreateCSR(signer, cn)
}

func (iw *identityWorld) register(ctx context.Context, csr []byte) {
	iw.result, iw.regErr = provision.Register(ctx, provision.Config{
		IDScope: iw.dps.IDScope(), RegistrationID: iw.regID, Address: iw.dps.Addr(), ServerName: "localhost",
		RootCAs: iw.w.hub.CA().Pool(), Certificate: &iw.boot, CSR: csr,
		Timeout: provisionTimeout, PollInterval: pollInterval, Logger: iw.w.log.With("subsystem", "provision"),
	})
}

// assigned checks the result and stores the identity: the hub is ours, the
// certificate is for the device's own key and chains to the operational CA
// only.
func (iw *identityWorld) assigned() error {
	if iw.regErr != nil {
		return fmt.Errorf("registration failed: %w", iw.regErr)
	}
	r := iw.result
	if r.AssignedHub != iw.w.hub.HostName() || r.DeviceID != iw.regID {
		return fmt.Errorf("assigned to hub %q as %q, want %q as %q", r.AssignedHub, r.DeviceID, iw.w.hub.HostName(), iw.regID)
	}
	err := iw.store.Replace(identity.Identity{RegistrationID: iw.regID, DeviceID: r.DeviceID,
		AssignedHub: r.AssignedHub, KeyID: iw.keyID, Chain: r.IssuedCertificateChain})
	if err != nil {
		return fmt.Errorf("store the issued certificate: %w", err)
	}
	return iw.chainsToOperationalOnly(r.IssuedCertificateChain)
}

func (iw *identityWorld) chainsToOperationalOnly(chain [][]byte) error {
	certs := make([]*x509.Certificate, len(chain))
	inter := x509.NewCertPool()
	for i, der := range chain {
		c, err := x509.ParseCertificate(der)
		if err != nil {
			return err
		}
		certs[i] = c
		if i > 0 {
			inter.AddCert(c)
		}
	}
	opts := x509.VerifyOptions{Roots: iw.lab.ServerRoots(), Intermediates: inter, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}
	if _, err := certs[0].Verify(opts); err != nil {
		return fmt.Errorf("issued certificate does not chain to the operational CA: %w", err)
	}
	opts.Roots = iw.lab.BootstrapRoots()
	if _, err := certs[0].Verify(opts); err == nil {
		return errors.New("issued certificate chains to the bootstrap CA")
	}
	if _, ok := certs[0].PublicKey.(*ecdsa.PublicKey); !ok {
		return fmt.Errorf("issued certificate key is %T, want ECDSA", certs[0].PublicKey)
	}
	return nil
}

func (iw *identityWorld) hubConfig(cert tls.Certificate) agenthub.Config {
	return agenthub.Config{DeviceID: iw.regID, HostName: iw.w.hub.HostName(), Address: iw.w.hub.MQTTAddr(),
		RootCAs: iw.w.hub.CA().Pool(), Certificate: cert, KeepAlive: keepAlive, ConnectTimeout: impostorTimeout}
}

func (iw *identityWorld) connectOperational(ctx context.Context) error {
	cur, err := iw.store.Current()
	if err != nil {
		return err
	}
	cert, err := iw.store.Certificate(cur)
	if err != nil {
		return err
	}
	iw.session, err = agenthub.Connect(ctx, iw.hubConfig(cert), nil)
	if err != nil {
		return fmt.Errorf("connect with the operational certificate: %w", err)
	}
	return nil
}

func (iw *identityWorld) hubRecordsMessage(ctx context.Context, id string) error {
	if iw.session == nil {
		return errors.New("the device is not connected")
	}
	if err := iw.session.SendEvent(ctx, id+"-1-1", []byte(`{"hello":1}`), nil); err != nil {
		return err
	}
	return within(ctx, 5*time.Second, func() error {
		if n := iw.w.hub.Events().DeviceCount(id); n == 0 {
			return fmt.Errorf("hub has recorded no message from %s", id)
		}
		return nil
	})
}

func (iw *identityWorld) connectBootstrap(ctx context.Context) error {
	s, err := agenthub.Connect(ctx, iw.hubConfig(iw.boot), nil)
	if err == nil {
		s.Close()
		err = errImpostorAdmitted
	}
	iw.connErr = err
	return nil
}

func (iw *identityWorld) hubRefuses() error {
	if !errors.Is(iw.connErr, agenthub.ErrUnauthorized) {
		return fmt.Errorf("hub answered %v, want an unauthorized refusal", iw.connErr)
	}
	return nil
}

func (iw *identityWorld) refused(status int, reason string) error {
	var e *provision.Error
	if !errors.As(iw.regErr, &e) {
		return fmt.Errorf("registration returned %v, want a DPS error", iw.regErr)
	}
	if e.Status != status || !strings.Contains(e.Message, reason) {
		return fmt.Errorf("DPS answered %d %q, want %d naming %q", e.Status, e.Message, status, reason)
	}
	return nil
}

func (iw *identityWorld) hubDoesNotKnow(id string) error {
	if _, err := iw.w.hub.Registry().Get(id); !errors.Is(err, registry.ErrNotFound) {
		return fmt.Errorf("hub registry lookup of %s = %v, want not found", id, err)
	}
	return nil
}

func (iw *identityWorld) disableGroup() error { return iw.dps.SetDisabled(true, bootstrapGroup, true) }

func (iw *identityWorld) answeredDisabled() error {
	if !errors.Is(iw.regErr, provision.ErrDisabled) {
		return fmt.Errorf("registration returned %v, want disabled", iw.regErr)
	}
	return nil
}

// bootstrapGroup is the enrollment group that trusts the bootstrap CA.
const bootstrapGroup = hubsim.DefaultEnrollmentGroup

// startLab starts a hub with its provisioning service on a fresh lab PKI:
// the hub's CA is the operational issuing CA, the service's only
// enrollment group trusts the bootstrap issuing CA with certificate
// issuance on.
func (iw *identityWorld) startLab() error {
	lab, err := testpki.NewLabPKI(testpki.LabOptions{})
	if err != nil {
		return err
	}
	iw.lab = lab
	h, err := hubsim.New(hubsim.Config{KeepEvents: true, Logger: iw.w.log.With("subsystem", "hub"),
		DPS: &hubsim.DPSConfig{PKI: lab}})
	if err != nil {
		return err
	}
	iw.w.hub = h // the world closes it, and its DPS with it
	if err := h.Start(); err != nil {
		return err
	}
	iw.dps = h.DPS()
	return nil
}
