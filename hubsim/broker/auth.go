package broker

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"strings"

	mqtt "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/packets"

	"github.com/cloudpillar/cloudpillar/hubsim/registry"
	"github.com/cloudpillar/cloudpillar/hubsim/sas"
	"github.com/cloudpillar/cloudpillar/hubsim/topic"
)

// errDisabled refuses a disabled identity (with Config.DisabledCode).
var errDisabled = errors.New("device is disabled")

// OnConnect authenticates the connection (PROTOCOL.md §1.2-1.4). A refusal
// is answered here with its own CONNACK code (mochi's own refusal can
// only say 0x05) and the returned error makes mochi close the connection.
func (h *Hook) OnConnect(cl *mqtt.Client, pk packets.Packet) error {
	if pk.ProtocolVersion != 4 {
		return h.refuse(cl, pk, codeUnacceptableProtocol, fmt.Errorf("MQTT protocol level %d, the hub speaks 4 (3.1.1)", pk.ProtocolVersion))
	}
	err := h.authenticate(cl, pk)
	switch {
	case errors.Is(err, errDisabled):
		return h.refuse(cl, pk, h.cfg.DisabledCode, err)
	case err != nil:
		return h.refuse(cl, pk, codeNotAuthorized, err)
	}
	if err := h.admitConnect(); err != nil {
		return h.refuse(cl, pk, codeServerUnavailable, err)
	}
	return nil
}

// OnConnectAuthenticate admits what OnConnect did not refuse.
func (h *Hook) OnConnectAuthenticate(*mqtt.Client, packets.Packet) bool { return true }

func (h *Hook) refuse(cl *mqtt.Client, pk packets.Packet, code byte, reason error) error {
	h.cfg.Logger.Warn("device refused", "client", pk.Connect.ClientIdentifier, "remote", cl.Net.Remote,
		"code", code, "reason", reason.Error())
	_ = cl.WritePacket(packets.Packet{
		FixedHeader: packets.FixedHeader{Type: packets.Connack},
		ReasonCode:  code,
	})
	return packets.ErrNotAuthorized
}

func (h *Hook) authenticate(cl *mqtt.Client, pk packets.Packet) error {
	id := pk.Connect.ClientIdentifier
	dev, mod := registry.Split(id)
	user, err := topic.ParseUsername(string(pk.Connect.Username))
	if err != nil {
		return err
	}
	if user.DeviceID != dev || user.ModuleID != mod {
		return fmt.Errorf("username names %q but client id is %q", registry.Identity(user.DeviceID, user.ModuleID), id)
	}
	if !strings.EqualFold(user.HostName, h.cfg.HostName) {
		return fmt.Errorf("username names hub %q, this hub is %q", user.HostName, h.cfg.HostName)
	}
	d, err := h.cfg.Registry.Get(id)
	if err != nil {
		return err
	}
	if d.Status != registry.StatusEnabled {
		return fmt.Errorf("%q: %w", id, errDisabled)
	}
	if pk.Connect.PasswordFlag {
		return h.verifySAS(d, string(pk.Connect.Password))
	}
	return h.verifyX509(cl, d)
}

// verifySAS checks a token: well formed, not expired, for this identity,
// signed by the device's key or by a policy with DeviceConnect.
func (h *Hook) verifySAS(d registry.Device, password string) error {
	tok, err := sas.Parse(password)
	if err != nil {
		return err
	}
	if tok.Expired(h.cfg.Now()) {
		return fmt.Errorf("%w at %s", sas.ErrExpired, tok.ExpiresAt.UTC().Format("2006-01-02T15:04:05Z"))
	}
	dev, mod := registry.Split(d.ID)
	if !tok.Grants(h.cfg.HostName, dev, mod) {
		return fmt.Errorf("%w: %q", sas.ErrResource, tok.ResourceURI())
	}
	if tok.KeyName != "" {
		return sas.Authorize(h.cfg.Policies, tok, sas.DeviceConnect)
	}
	if d.Auth != registry.AuthSAS {
		return fmt.Errorf("%q authenticates with %s, not a SAS device key", d.ID, d.Auth)
	}
	return tok.Verify(d.SymmetricKey.PrimaryKey, d.SymmetricKey.SecondaryKey)
}

// verifyX509 checks the TLS client certificate the way the identity's
// authentication type asks.
func (h *Hook) verifyX509(cl *mqtt.Client, d registry.Device) error {
	tc, ok := cl.Net.Conn.(interface{ ConnectionState() tls.ConnectionState }) // *tls.Conn or a WebSocket over HTTPS
	if !ok {
		return errors.New("connection is not TLS")
	}
	chain := tc.ConnectionState().PeerCertificates
	if len(chain) == 0 {
		return errors.New("no password and no client certificate")
	}
	switch d.Auth {
	case registry.AuthCertificateAuthority:
		return h.verifyChain(chain, d.ID)
	case registry.AuthSelfSigned:
		return h.verifyThumbprint(chain[0], d)
	}
	return fmt.Errorf("%q authenticates with %s, not X.509", d.ID, d.Auth)
}

// verifyChain: the chain verifies against the hub's CAs and the leaf CN is
// the identity (PROTOCOL.md §1.4).
func (h *Hook) verifyChain(chain []*x509.Certificate, id string) error {
	inter := x509.NewCertPool()
	for _, c := range chain[1:] {
		inter.AddCert(c)
	}
	_, err := chain[0].Verify(x509.VerifyOptions{
		Roots:         h.cfg.Roots,
		Intermediates: inter,
		CurrentTime:   h.cfg.Now(),
		KeyUsages:     []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	})
	if err != nil {
		return fmt.Errorf("client certificate: %w", err)
	}
	if cn := chain[0].Subject.CommonName; cn != id {
		return fmt.Errorf("certificate CN %q does not match device id %q", cn, id)
	}
	return nil
}

// verifyThumbprint: the leaf's SHA-1 or SHA-256 is a registered thumbprint
// and the certificate is within its validity; the CN is not checked.
func (h *Hook) verifyThumbprint(leaf *x509.Certificate, d registry.Device) error {
	if now := h.cfg.Now(); now.Before(leaf.NotBefore) || now.After(leaf.NotAfter) {
		return fmt.Errorf("client certificate not valid at %s", now.UTC().Format("2006-01-02T15:04:05Z"))
	}
	if !d.Thumbprint.Matches(leaf.Raw) {
		s1, s256 := registry.Thumbprints(leaf.Raw)
		return fmt.Errorf("thumbprint does not match configuration: SHA1Hash=%s, SHA2Hash=%s", s1, s256)
	}
	return nil
}
