package hubtest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/cloudpillar/cloudpillar/hubsim"
	"github.com/cloudpillar/cloudpillar/hubsim/registry"
)

// SASDevice registers id as a SAS device (keys generated) and returns it.
func SASDevice(t testing.TB, h *hubsim.Hub, id string) registry.Device {
	t.Helper()
	d, err := h.CreateSASDevice(id)
	if err != nil {
		t.Fatalf("CreateSASDevice(%q): %v", id, err)
	}
	return d
}

// Token signs a SAS token for id with its primary key, valid for ttl from
// the hub's clock.
func Token(t testing.TB, h *hubsim.Hub, id string, ttl time.Duration) string {
	t.Helper()
	tok, err := h.DeviceToken(id, h.Now().Add(ttl))
	if err != nil {
		t.Fatalf("DeviceToken(%q): %v", id, err)
	}
	return tok
}

// SASOptions are RawOptions for a SAS identity (a module when id is
// `{device}/{module}`): no client certificate, a one-hour token as password.
func SASOptions(t testing.TB, h *hubsim.Hub, id string) *paho.ClientOptions {
	t.Helper()
	o := RawOptions(h, id, tls.Certificate{})
	o.TLSConfig.Certificates = nil
	o.SetPassword(Token(t, h, id, time.Hour))
	dev, mod := registry.Split(id)
	if mod != "" {
		o.SetUsername(h.HostName() + "/" + dev + "/" + mod + "/?api-version=2021-04-12")
	}
	return o
}

// SelfSignedCert makes a self-signed client certificate with subject CN
// (X.509 thumbprint authentication does not check the CN) and returns it
// with its SHA-1 and SHA-256 thumbprints.
func SelfSignedCert(t testing.TB, cn string) (cert tls.Certificate, sha1Hex, sha256Hex string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject:      pkix.Name{CommonName: cn},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	sha1Hex, sha256Hex = registry.Thumbprints(der)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, sha1Hex, sha256Hex
}
