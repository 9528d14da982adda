package main

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"net/netip"
	"path/filepath"
	"regexp"
	"strconv"
	"time"

	"github.com/cloudpillar/cloudpillar/agent"
	"github.com/cloudpillar/cloudpillar/agent/identity"
	"github.com/cloudpillar/cloudpillar/agent/provision"
)

// Defaults of the provisioning section.
const (
	defaultDPSPort          = "8883"
	defaultIdentityDirName  = "identity" // next to the store
	defaultRenewAtPercent   = 80
	defaultUrgentMarginHour = 24
)

// provisioningFields is the provisioning section: the device gets its
// operational identity from the Device Provisioning Service (two-phase
// X.509, agent.IdentityConfig).
type provisioningFields struct {
	GlobalEndpoint    string // host[:port]; default provision.GlobalHost:8883
	Address           string // host:port to dial instead (a lab)
	IDScope           string
	RegistrationID    string // default: the bootstrap certificate's CN
	CertFile, KeyFile string // the bootstrap (manufacturing) credential
	CAFile            string // default: the top-level caFile
	IdentityDir       string
	KeyType           string
	RenewAtPercent    int
	UrgentMarginHours int
	TimeoutSeconds    int
}

// provisioningFields enables provisioning: it is called when the key appears.
func (fc *fileConfig) provisioningFields() []field {
	fc.Provisioning = &provisioningFields{}
	p := fc.Provisioning
	return []field{
		{name: "globalEndpoint", set: setChecked(&p.GlobalEndpoint, checkEndpoint)},
		{name: "address", set: setChecked(&p.Address, checkHostPort)},
		{name: "idScope", set: setChecked(&p.IDScope, checkIDScope)},
		{name: "registrationId", set: setChecked(&p.RegistrationID, checkRegistrationID)},
		{name: "certFile", set: setString(&p.CertFile)},
		{name: "keyFile", set: setString(&p.KeyFile)},
		{name: "caFile", set: setString(&p.CAFile)},
		{name: "identityDir", set: setString(&p.IdentityDir)},
		{name: "keyType", set: setEnum(&p.KeyType, string(identity.P384), string(identity.P256))},
		{name: "renewAtPercent", set: setInt(&p.RenewAtPercent, 50, 95)},
		{name: "urgentMarginHours", set: setInt(&p.UrgentMarginHours, 1, 720)},
		{name: "timeoutSeconds", set: setInt(&p.TimeoutSeconds, 10, 3600)},
	}
}

var (
	// idScopeRE is the shape of a DPS id scope ("0ne00000A0A").
	idScopeRE = regexp.MustCompile(`^[A-Za-z0-9]{1,64}$`)
	// badHostRE finds what a host name cannot hold.
	badHostRE = regexp.MustCompile(`[\s/:@]`)
)

func checkIDScope(s string) (string, error) {
	if !idScopeRE.MatchString(s) {
		return "", fmt.Errorf("want the DPS id scope (letters and digits, such as 0ne00000A0A), got %q", s)
	}
	return s, nil
}

func checkRegistrationID(s string) (string, error) {
	return s, provision.ValidateRegistrationID(s)
}

// checkEndpoint accepts host or host:port.
func checkEndpoint(s string) (string, error) {
	host := s
	if h, port, err := net.SplitHostPort(s); err == nil {
		if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
			return "", fmt.Errorf("want host or host:port, such as %s, got %q: port %q is not a number between 1 and 65535", provision.GlobalHost, s, port)
		}
		host = h
	}
	if _, err := netip.ParseAddr(host); err == nil {
		return s, nil
	}
	if host == "" || badHostRE.MatchString(host) {
		return "", fmt.Errorf("want host or host:port, such as %s, got %q", provision.GlobalHost, s)
	}
	return s, nil
}

// require reports the section's required fields left empty.
func (p *provisioningFields) require(d *decoder) {
	for _, f := range [][2]string{{"idScope", p.IDScope}, {"certFile", p.CertFile}, {"keyFile", p.KeyFile}} {
		switch {
		case f[1] != "":
		case f[0] == "idScope":
			d.fail("provisioning."+f[0], "is required")
		default:
			d.fail("provisioning."+f[0], "is required: the bootstrap (manufacturing) credential DPS authenticates")
		}
	}
}

// identityConfig loads the bootstrap credential (the fields are present:
// require passed) and builds the agent's identity configuration. roots
// are the top-level caFile's CAs; stateDir is the store's folder.
func (p *provisioningFields) identityConfig(d *decoder, dir string, roots *x509.CertPool, stateDir string) (*agent.IdentityConfig, credential) {
	const sec = "provisioning."
	boot, err := loadBootstrap(resolve(dir, p.CertFile), resolve(dir, p.KeyFile))
	if err != nil {
		d.fail(sec+"certFile", "%v", err)
		return nil, credential{}
	}
	regID := p.registrationID(d, boot.Leaf.Subject.CommonName, resolve(dir, p.CertFile))
	if p.CAFile != "" {
		if roots, err = loadRoots(resolve(dir, p.CAFile)); err != nil {
			d.fail(sec+"caFile", "%v", err)
		}
	}
	ic := &agent.IdentityConfig{
		Dir:       orDefaultString(resolve(dir, p.IdentityDir), filepath.Join(stateDir, defaultIdentityDirName)),
		KeyType:   identity.KeyType(p.KeyType),
		Provision: p.provisionConfig(regID, roots, &boot),
		Renewal: identity.Renewal{
			Fraction:     float64(orDefault(p.RenewAtPercent, defaultRenewAtPercent)) / 100,
			UrgentMargin: time.Duration(orDefault(p.UrgentMarginHours, defaultUrgentMarginHour)) * time.Hour,
		},
	}
	return ic, credential{Field: sec + "certFile", At: d.where(sec + "certFile"), Leaf: boot.Leaf}
}

// registrationID is the configured registration id, or the bootstrap
// certificate's CN; X.509 attestation requires the two to be equal.
func (p *provisioningFields) registrationID(d *decoder, cn, certPath string) string {
	if p.RegistrationID == "" {
		if err := provision.ValidateRegistrationID(cn); err != nil {
			d.fail("provisioning.certFile", "the bootstrap certificate's subject CN is not a usable registration id: %v", err)
		}
		return cn
	}
	if p.RegistrationID != cn {
		d.fail("provisioning.registrationId", "%q does not match the bootstrap certificate's subject CN %q (certFile %s); "+
			"DPS X.509 attestation requires them to be equal", p.RegistrationID, cn, certPath)
	}
	return p.RegistrationID
}

// provisionConfig is the DPS registration: endpoint, scope, trust and the
// bootstrap credential (the agent adds the CSR).
func (p *provisioningFields) provisionConfig(regID string, roots *x509.CertPool, boot *tls.Certificate) provision.Config {
	endpoint := orDefaultString(p.GlobalEndpoint, provision.GlobalHost)
	host, port, err := net.SplitHostPort(endpoint)
	if err != nil {
		host, port = endpoint, defaultDPSPort
	}
	return provision.Config{
		IDScope:        p.IDScope,
		RegistrationID: regID,
		Address:        orDefaultString(p.Address, net.JoinHostPort(host, port)),
		ServerName:     host,
		RootCAs:        roots,
		Certificate:    boot,
		Timeout:        seconds(p.TimeoutSeconds),
		ClientVersion:  "cloudpillar/" + agent.Version,
	}
}

// loadBootstrap loads the bootstrap certificate (with any intermediates
// in the same file) and its key.
func loadBootstrap(certPath, keyPath string) (tls.Certificate, error) {
	pair, err := tls.LoadX509KeyPair(certPath, keyPath)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("%s with keyFile %s: %v", certPath, keyPath, err)
	}
	leaf, err := x509.ParseCertificate(pair.Certificate[0])
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("%s: %v", certPath, err)
	}
	pair.Leaf = leaf
	return pair, nil
}
