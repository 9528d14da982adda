package main

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"time"

	"github.com/cloudpillar/cloudpillar/agent/backoff"
	"github.com/cloudpillar/cloudpillar/agent/device/hostlink"
	"github.com/cloudpillar/cloudpillar/agent/hub"
)

// build fills defaults, checks fields against each other, loads the PEM
// and JSON files (relative to dir) and returns the runtime config.
// Problems go to d.errs; the result is meaningful only when there are none.
func (fc *fileConfig) build(d *decoder, dir string) *config {
	fc.requireFields(d)
	cfg := &config{
		Hub: hub.Config{
			DeviceID:  fc.DeviceID,
			HostName:  fc.HubHostName,
			Address:   fc.HubAddress,
			KeepAlive: seconds(fc.KeepAliveSeconds),
		},
		TelemetryInterval: seconds(orDefault(fc.TelemetryIntervalSeconds, defaultTelemetryIntervalSeconds)),
		BatchSamples:      fc.BatchSamples,
		Backoff:           fc.backoffPolicy(d),
		StorePath:         resolve(dir, fc.StorePath),
		Log:               fc.logSettings(dir),
		HealthAddress:     defaultHealthAddress,
		HostLink:          fc.hostLinkConfig(d, dir),
	}
	// With provisioning the hub to dial is the one DPS assigns: only an
	// explicit hubAddress pins it.
	if cfg.Hub.Address == "" && fc.HubHostName != "" && fc.Provisioning == nil {
		cfg.Hub.Address = net.JoinHostPort(fc.HubHostName, defaultMQTTPort)
	}
	if cfg.StorePath == "" {
		cfg.StorePath = defaultStorePath()
	}
	if fc.HealthAddress != nil {
		cfg.HealthAddress = *fc.HealthAddress
	}
	stateDir := filepath.Dir(cfg.StorePath)
	cfg.Guard, cfg.TimeZone = fc.Guard.config(d)
	cfg.AuditLogPath = orDefaultString(resolve(dir, fc.AuditLog), filepath.Join(stateDir, defaultAuditLogName))
	cfg.Logs = fc.logsConfig(d, dir, cfg)
	cfg.Updates = fc.updateSettings(d, dir, stateDir)
	if len(d.errs) == 0 {
		fc.loadPKI(d, dir, cfg)
	}
	return cfg
}

func seconds(n int) time.Duration { return time.Duration(n) * time.Second }

func orDefault(v, def int) int {
	if v == 0 {
		return def
	}
	return v
}

func (fc *fileConfig) backoffPolicy(d *decoder) backoff.Policy {
	p := backoff.Policy{Base: seconds(fc.Backoff.BaseSeconds), Cap: seconds(fc.Backoff.CapSeconds)}
	base, limit := p.Base, p.Cap
	if base == 0 {
		base = backoff.DefaultBase
	}
	if limit == 0 {
		limit = backoff.DefaultCap
	}
	if limit < base {
		name := "backoff.capSeconds"
		if fc.Backoff.CapSeconds == 0 {
			name = "backoff.baseSeconds"
		}
		d.fail(name, "the cap (%v) must not be below the base (%v)", limit, base)
	}
	return p
}

func (fc *fileConfig) logSettings(dir string) logSettings {
	level, _ := parseLevel(orDefaultString(fc.LogLevel, defaultLogLevel)) // checked when decoded
	return logSettings{
		Level:    level,
		Format:   orDefaultString(fc.LogFormat, defaultLogFormat),
		File:     resolve(dir, fc.LogFile),
		MaxBytes: int64(orDefault(fc.LogMaxSizeMB, defaultLogMaxSizeMB)) << 20,
		MaxFiles: orDefault(fc.LogMaxFiles, defaultLogMaxFiles),
	}
}

func orDefaultString(v, def string) string {
	if v == "" {
		return def
	}
	return v
}

// hostLinkConfig maps the hostLink section: socket (a Unix socket path)
// or address (loopback host:port), never both; neither takes the
// platform's default.
func (fc *fileConfig) hostLinkConfig(d *decoder, dir string) *hostlink.Config {
	h := fc.HostLink
	if h == nil {
		return nil
	}
	cfg := &hostlink.Config{
		TokenFile:   resolve(dir, h.TokenFile),
		LinkTimeout: seconds(h.TimeoutSeconds),
	}
	switch {
	case h.Socket != "" && h.Address != "":
		d.fail("hostLink.address", "set either hostLink.socket or hostLink.address, not both")
	case h.Socket != "":
		cfg.Network, cfg.Address = hostlink.NetworkUnix, resolve(dir, h.Socket)
	case h.Address != "":
		cfg.Network, cfg.Address = hostlink.NetworkTCP, h.Address
	}
	if h.TokenFile == "" {
		d.fail("hostLink.tokenFile", "is required when hostLink is set")
	} else if err := checkTokenFile(cfg.TokenFile); err != nil {
		d.fail("hostLink.tokenFile", "%v", err)
	}
	return cfg
}

// checkTokenFile applies the host link's rules for its token file here,
// so that --check-config catches them with a line number and the service
// does not fail (and restart) at start: a regular file, private on Unix,
// holding at least hostlink.MinTokenLength bytes of token.
func checkTokenFile(path string) error {
	fi, err := os.Stat(path)
	if err != nil {
		return err
	}
	if !fi.Mode().IsRegular() {
		return fmt.Errorf("%s is not a regular file", path)
	}
	if runtime.GOOS != "windows" && fi.Mode().Perm()&0o077 != 0 {
		return fmt.Errorf("%s has mode %04o; want 0600 (no access for group or others)", path, fi.Mode().Perm())
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if n := len(bytes.TrimSpace(b)); n < hostlink.MinTokenLength {
		return fmt.Errorf("%s holds %d bytes of token; want at least %d", path, n, hostlink.MinTokenLength)
	}
	return nil
}

// loadPKI reads the CA bundle and the device key pair into cfg.Hub, or,
// with provisioning, the bootstrap credential into cfg.Identity.
func (fc *fileConfig) loadPKI(d *decoder, dir string, cfg *config) {
	roots, pemData, err := readCABundle(resolve(dir, fc.CAFile))
	if err != nil {
		d.fail("caFile", "%v", err)
	}
	cfg.Hub.RootCAs = roots
	if cfg.Updates != nil {
		cfg.Updates.DownloadRoots = downloadRoots(pemData)
	}
	if fc.Provisioning != nil {
		cfg.Identity, cfg.Credential = fc.Provisioning.identityConfig(d, dir, roots, filepath.Dir(cfg.StorePath))
		if cfg.Identity != nil && cfg.Hub.DeviceID == "" {
			cfg.Hub.DeviceID = cfg.Identity.Provision.RegistrationID // the agent's default, made visible
		}
		return
	}
	cert, err := loadDeviceCert(resolve(dir, fc.CertFile), resolve(dir, fc.KeyFile), fc.DeviceID)
	if err != nil {
		d.fail(err.(fieldError).Field, "%s", err.(fieldError).Msg)
		return
	}
	cfg.Hub.Certificate = cert
	cfg.Credential = credential{Field: "certFile", At: d.where("certFile"), Leaf: cert.Leaf}
}

func loadRoots(path string) (*x509.CertPool, error) {
	pool, _, err := readCABundle(path)
	return pool, err
}

// readCABundle reads a PEM CA bundle: the pool and the PEM it came from.
func readCABundle(path string) (*x509.CertPool, []byte, error) {
	pemData, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pemData) {
		return nil, nil, fmt.Errorf("%s: no PEM certificates found", path)
	}
	return pool, pemData, nil
}

// downloadRoots are the CAs update downloads trust: the system's (update
// payloads are usually served by a CDN) plus caFile's (a lab hub's blob
// store). Payloads are verified against the signed manifest either way.
func downloadRoots(caPEM []byte) *x509.CertPool {
	pool, err := x509.SystemCertPool()
	if err != nil || pool == nil {
		pool = x509.NewCertPool()
	}
	pool.AppendCertsFromPEM(caPEM)
	return pool
}

// loadDeviceCert loads the key pair and checks that the certificate's
// subject CN is the device id, as IoT Hub's X.509 authentication requires.
// Its errors are fieldErrors naming the field to blame (At left empty).
func loadDeviceCert(certPath, keyPath, deviceID string) (tls.Certificate, error) {
	pair, err := tls.LoadX509KeyPair(certPath, keyPath)
	if err != nil {
		return tls.Certificate{}, fieldError{Field: "certFile", Msg: fmt.Sprintf("%s with keyFile %s: %v", certPath, keyPath, err)}
	}
	leaf, err := x509.ParseCertificate(pair.Certificate[0])
	if err != nil {
		return tls.Certificate{}, fieldError{Field: "certFile", Msg: fmt.Sprintf("%s: %v", certPath, err)}
	}
	if cn := leaf.Subject.CommonName; cn != deviceID {
		return tls.Certificate{}, fieldError{Field: "deviceId", Msg: fmt.Sprintf(
			"%q does not match the certificate's subject CN %q (certFile %s); IoT Hub requires them to be equal", deviceID, cn, certPath)}
	}
	pair.Leaf = leaf
	return pair, nil
}
