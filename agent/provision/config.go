package provision

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"time"
)

// Defaults for Config fields left zero.
const (
	DefaultConnectTimeout = 30 * time.Second
	// DefaultTimeout bounds a whole registration, polling included.
	DefaultTimeout = 2 * time.Minute
	// DefaultPollInterval is the wait before polling when DPS sends no
	// retry-after (Node's default, PROTOCOL.md §6).
	DefaultPollInterval = 2 * time.Second
	// DefaultTokenLifetime is the validity of a symmetric-key token.
	DefaultTokenLifetime = time.Hour
	DefaultKeepAlive     = 60 * time.Second
)

// DialFunc opens the raw (pre-TLS) connection to DPS.
type DialFunc func(ctx context.Context, network, addr string) (net.Conn, error)

// Config is one registration. Exactly one of Certificate and SymmetricKey
// is the bootstrap credential.
type Config struct {
	IDScope        string
	RegistrationID string
	// Address is the DPS MQTT endpoint host:port. Default GlobalHost:8883.
	Address string
	// ServerName is the TLS server name. Default: the host of Address.
	ServerName string
	RootCAs    *x509.CertPool // trusted DPS server CAs; nil = system roots
	// Certificate is the X.509 bootstrap credential (leaf CN =
	// RegistrationID; send the intermediates too).
	Certificate *tls.Certificate
	// SymmetricKey is the base64 device key (individual, or derived from
	// a group key with DeriveKey).
	SymmetricKey string
	// Payload is custom allocation data sent with the request; optional.
	Payload json.RawMessage
	// CSR is a DER certificate signing request; when set DPS issues an
	// operational certificate (Result.IssuedCertificateChain).
	CSR []byte
	// APIVersion defaults to DefaultAPIVersion.
	APIVersion string
	// ClientVersion, if set, is sent in the user name as ClientVersion.
	ClientVersion  string
	Dial           DialFunc      // nil: plain TCP
	ConnectTimeout time.Duration // dial + TLS + CONNECT; default 30 s
	// Timeout bounds the whole registration, polling included; default 2 min.
	Timeout time.Duration
	// PollInterval is the wait before a poll when DPS sends no
	// retry-after. Default 2 s.
	PollInterval  time.Duration
	TokenLifetime time.Duration // symmetric-key token validity; default 1 h
	KeepAlive     time.Duration // default 60 s
	// Logger receives progress (never credentials). Nil discards.
	Logger *slog.Logger
	// Now is the clock for token expiry. Nil = time.Now.
	Now func() time.Time
}

func (c *Config) validate() error {
	if c.IDScope == "" {
		return errors.New("provision config: id scope is empty")
	}
	if err := ValidateRegistrationID(c.RegistrationID); err != nil {
		return fmt.Errorf("provision config: %w", err)
	}
	if (c.Certificate == nil) == (c.SymmetricKey == "") {
		return errors.New("provision config: need exactly one of a bootstrap certificate and a symmetric key")
	}
	if c.Certificate != nil && len(c.Certificate.Certificate) == 0 {
		return errors.New("provision config: bootstrap certificate is empty")
	}
	c.fillDefaults()
	if _, _, err := net.SplitHostPort(c.Address); err != nil {
		return fmt.Errorf("provision config: address %q: %w", c.Address, err)
	}
	return nil
}

func (c *Config) fillDefaults() {
	if c.Address == "" {
		c.Address = net.JoinHostPort(GlobalHost, "8883")
	}
	if c.ServerName == "" {
		c.ServerName, _, _ = net.SplitHostPort(c.Address)
	}
	if c.APIVersion == "" {
		c.APIVersion = DefaultAPIVersion
	}
	setDefault(&c.ConnectTimeout, DefaultConnectTimeout)
	setDefault(&c.Timeout, DefaultTimeout)
	setDefault(&c.PollInterval, DefaultPollInterval)
	setDefault(&c.TokenLifetime, DefaultTokenLifetime)
	setDefault(&c.KeepAlive, DefaultKeepAlive)
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Dial == nil {
		var d net.Dialer
		c.Dial = d.DialContext
	}
}

func setDefault(d *time.Duration, v time.Duration) {
	if *d <= 0 {
		*d = v
	}
}

// password is the CONNECT password: a SAS token for symmetric keys,
// nothing for X.509.
func (c *Config) password() (string, error) {
	if c.SymmetricKey == "" {
		return "", nil
	}
	return SASToken(c.IDScope, c.RegistrationID, c.SymmetricKey, c.Now().Add(c.TokenLifetime))
}

func (c *Config) tlsConfig() *tls.Config {
	t := &tls.Config{RootCAs: c.RootCAs, ServerName: c.ServerName, MinVersion: tls.VersionTLS12}
	if c.Certificate != nil {
		t.Certificates = []tls.Certificate{*c.Certificate}
	}
	return t
}
