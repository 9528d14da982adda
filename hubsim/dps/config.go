package dps

import (
	"crypto/x509"
	"errors"
	"log/slog"
	"net"
	"time"

	"github.com/cloudpillar/cloudpillar/hubsim/sas"
	"github.com/cloudpillar/cloudpillar/internal/testpki"
)

// Defaults for Config fields left zero.
const (
	DefaultIDScope            = "0ne00C1AB00"
	DefaultHostName           = "localhost"
	DefaultAddr               = "127.0.0.1:0"
	DefaultThrottleRetryAfter = 3 * time.Second
	// operationTTL is how long a finished operation can still be polled.
	operationTTL = 10 * time.Minute
)

// Registrar is the hub side of an assignment. hubsim's Hub satisfies it
// through an adapter; tests can use RegistrarFunc.
type Registrar interface {
	// AssignDevice makes sure the hub knows deviceID as a CA-signed X.509
	// device, creating it if needed. reset drops the device's twin and
	// state first (reprovisioning policy ReprovisionReset).
	AssignDevice(deviceID string, reset bool) error
}

// RegistrarFunc adapts a function to Registrar.
type RegistrarFunc func(deviceID string, reset bool) error

// AssignDevice calls f.
func (f RegistrarFunc) AssignDevice(deviceID string, reset bool) error { return f(deviceID, reset) }

// IssuancePolicy shapes the operational certificates DPS issues for CSRs.
type IssuancePolicy struct {
	// KeyTypes are the CSR keys accepted. Default ECDSA P-384 only, as
	// Azure's preview (PROTOCOL.md §6.1). Anything weaker is refused.
	KeyTypes []testpki.KeyType
	// Validity of issued certificates. Default testpki.OperationalValidity.
	Validity time.Duration
}

// Throttle limits register requests across all devices (a token bucket).
type Throttle struct {
	PerSecond  float64       // admitted registrations per second; 0 = unlimited
	Burst      int           // bucket size; default max(1, PerSecond)
	RetryAfter time.Duration // in 429 answers; default 3 s
}

// Config describes a DPS. Issuer and AssignedHub are required.
type Config struct {
	// IDScope is the DPS instance's id scope. Default DefaultIDScope.
	IDScope string
	// HostName is the DPS's TLS host name. Default "localhost".
	HostName string
	// Addr is the TCP address of the MQTT/TLS endpoint; default
	// "127.0.0.1:0". Ignored when Listener is set.
	Addr string
	// Listener, if set, is a raw (non-TLS) listener to serve on.
	Listener net.Listener
	// ServerNames go in the server certificate. Default HostName,
	// "localhost", "127.0.0.1".
	ServerNames []string
	// Issuer is the operational issuing CA: it signs issued certificates.
	Issuer *testpki.CA
	// IssuerChain follows Issuer's certificate in issuedCertificateChain
	// (the intermediate, say); the root is left out.
	IssuerChain []*x509.Certificate
	// TLSCA signs the server certificate. Default Issuer.
	TLSCA    *testpki.CA
	Issuance IssuancePolicy
	// AssignedHub is the hub host name devices are assigned to.
	AssignedHub string
	// Registrar registers assigned devices at the hub. Nil registers
	// nowhere (DPS-only tests).
	Registrar Registrar
	// RetryAfter is sent with 202 answers, in whole seconds. Zero sends
	// retry-after=0 (devices poll at once: fast simulations); negative
	// leaves it out (devices use their default, 2 s). Azure sends 3.
	RetryAfter time.Duration
	// AssignDelay is how long an operation stays "assigning" before a
	// poll sees the result. Default 0.
	AssignDelay time.Duration
	Throttle    Throttle
	// HTTPSAddr, if set, serves the DPS service REST API (enrollments and
	// enrollment groups, api-version 2021-10-01) over HTTPS at that TCP
	// address. HTTPSListener does the same on a raw listener.
	HTTPSAddr     string
	HTTPSListener net.Listener
	// ServiceKey is the provisioningserviceowner policy's key (base64)
	// for the service API. Default: a random key (ServiceConnectionString).
	ServiceKey string
	// OnRegister, if set, sees every register request after
	// authentication and may fail it with a DPS error (tests inject
	// 500s or 429s this way). It runs on the device's read path.
	OnRegister func(registrationID string) *Error
	Logger     *slog.Logger     // nil discards
	Now        func() time.Time // nil = time.Now
}

func (c *Config) validate() error {
	if c.Issuer == nil {
		return errors.New("dps config: no issuing CA")
	}
	if c.AssignedHub == "" {
		return errors.New("dps config: no hub to assign devices to")
	}
	if c.IDScope == "" {
		c.IDScope = DefaultIDScope
	}
	if c.HostName == "" {
		c.HostName = DefaultHostName
	}
	if c.Addr == "" {
		c.Addr = DefaultAddr
	}
	if len(c.ServerNames) == 0 {
		c.ServerNames = uniq(c.HostName, "localhost", "127.0.0.1")
	}
	if c.TLSCA == nil {
		c.TLSCA = c.Issuer
	}
	if c.ServiceKey == "" {
		c.ServiceKey = sas.NewKey()
	}
	c.Issuance.fill()
	c.Throttle.fill()
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return nil
}

func (p *IssuancePolicy) fill() {
	if len(p.KeyTypes) == 0 {
		p.KeyTypes = []testpki.KeyType{testpki.ECDSAP384}
	}
	if p.Validity <= 0 {
		p.Validity = testpki.OperationalValidity
	}
}

func (t *Throttle) fill() {
	if t.Burst <= 0 {
		t.Burst = max(1, int(t.PerSecond))
	}
	if t.RetryAfter <= 0 {
		t.RetryAfter = DefaultThrottleRetryAfter
	}
}

func uniq(ss ...string) []string {
	seen := map[string]bool{}
	var out []string
	for _, s := range ss {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}
