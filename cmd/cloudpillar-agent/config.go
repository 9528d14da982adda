package main

import (
	"crypto/x509"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/cloudpillar/cloudpillar/agent"
	"github.com/cloudpillar/cloudpillar/agent/backoff"
	"github.com/cloudpillar/cloudpillar/agent/device/hostlink"
	"github.com/cloudpillar/cloudpillar/agent/guard"
	"github.com/cloudpillar/cloudpillar/agent/hub"
)

// Defaults for fields left out of the config file.
const (
	defaultTelemetryIntervalSeconds = 10
	defaultLogLevel                 = "info"
	defaultLogFormat                = "json"
	defaultLogMaxSizeMB             = 10
	defaultLogMaxFiles              = 5
	defaultHealthAddress            = "127.0.0.1:47801"
	defaultMQTTPort                 = "8883"
	maxBatchSamples                 = 100 // readings per message; IoT Hub caps a message at 256 KiB
)

// fileConfig is the agent's YAML config file as written (plus flag
// overrides), before defaults. Zero means "not set".
type fileConfig struct {
	HubHostName              string
	HubAddress               string
	CAFile                   string
	CertFile                 string
	KeyFile                  string
	DeviceID                 string
	StorePath                string
	TelemetryIntervalSeconds int
	KeepAliveSeconds         int
	Backoff                  backoffFields
	LogLevel                 string
	LogFormat                string
	LogFile                  string
	LogMaxSizeMB             int
	LogMaxFiles              int
	HealthAddress            *string         // nil: default; "": disabled
	HostLink                 *hostLinkFields // nil: no host link
	BatchSamples             int
	AuditLog                 string
	Provisioning             *provisioningFields // nil: the fixed certificate in certFile/keyFile
	Guard                    guardFields
	Logs                     *logsFields    // nil: no log delivery
	Updates                  *updatesFields // nil: no updates
}

type backoffFields struct {
	BaseSeconds, CapSeconds int
}

type hostLinkFields struct {
	Socket, Address, TokenFile string
	TimeoutSeconds             int
}

// fields is the config file's schema: every key, its type and range.
func (fc *fileConfig) fields() []field {
	return []field{
		{name: "hubHostName", set: setString(&fc.HubHostName)},
		{name: "hubAddress", set: setChecked(&fc.HubAddress, checkHostPort)},
		{name: "caFile", set: setString(&fc.CAFile)},
		{name: "certFile", set: setString(&fc.CertFile)},
		{name: "keyFile", set: setString(&fc.KeyFile)},
		{name: "deviceId", set: setString(&fc.DeviceID)},
		{name: "storePath", set: setString(&fc.StorePath)},
		{name: "telemetryIntervalSeconds", set: setInt(&fc.TelemetryIntervalSeconds, 1, 86400)},
		// Azure IoT Hub accepts MQTT keep-alives up to 1767 s.
		{name: "keepAliveSeconds", set: setInt(&fc.KeepAliveSeconds, 5, 1767)},
		{name: "backoff", section: fc.Backoff.fields},
		{name: "logLevel", set: setEnum(&fc.LogLevel, "debug", "info", "warn", "error")},
		{name: "logFormat", set: setEnum(&fc.LogFormat, "text", "json")},
		{name: "logFile", set: setString(&fc.LogFile)},
		{name: "logMaxSizeMB", set: setInt(&fc.LogMaxSizeMB, 1, 1024)},
		{name: "logMaxFiles", set: setInt(&fc.LogMaxFiles, 1, 100)},
		{name: "healthAddress", set: setOptional(&fc.HealthAddress, checkHealthAddress)},
		{name: "hostLink", section: fc.hostLinkFields},
		{name: "batchSamples", set: setInt(&fc.BatchSamples, 1, maxBatchSamples)},
		{name: "auditLog", set: setString(&fc.AuditLog)},
		{name: "provisioning", section: fc.provisioningFields},
		{name: "guard", section: fc.Guard.fields},
		{name: "logs", section: fc.logsFields},
		{name: "updates", section: fc.updatesFields},
	}
}

func (b *backoffFields) fields() []field {
	return []field{
		{name: "baseSeconds", set: setInt(&b.BaseSeconds, 1, 3600)},
		{name: "capSeconds", set: setInt(&b.CapSeconds, 1, 86400)},
	}
}

// hostLinkFields enables the host link: it is called when the key appears.
func (fc *fileConfig) hostLinkFields() []field {
	fc.HostLink = &hostLinkFields{}
	h := fc.HostLink
	return []field{
		{name: "socket", set: setString(&h.Socket)},
		{name: "address", set: setChecked(&h.Address, checkLoopback)},
		{name: "tokenFile", set: setString(&h.TokenFile)},
		{name: "timeoutSeconds", set: setInt(&h.TimeoutSeconds, 1, 3600)},
	}
}

// overrides are config values given on the command line; nil = not given.
type overrides struct {
	LogLevel, StorePath, HealthAddress *string
}

// config is a validated config with its files loaded.
type config struct {
	Path string
	Hub  hub.Config
	// Identity, if set, provisions the device through DPS; Hub then has
	// no certificate (and, unless hubHostName is set, no host name).
	Identity *agent.IdentityConfig
	// Credential is the certificate --check-config vets: the device
	// certificate, or with provisioning the bootstrap certificate.
	Credential        credential
	TelemetryInterval time.Duration
	BatchSamples      int // 0: every reading is its own message
	Backoff           backoff.Policy
	StorePath         string
	Log               logSettings
	HealthAddress     string           // "" = no health endpoint
	HostLink          *hostlink.Config // nil = no host link (the device reports idle)
	Guard             guard.Config
	TimeZone          string // the site's time zone for maintenance windows
	AuditLogPath      string
	Logs              agent.LogsConfig // no sources: no log delivery
	Updates           *updateSettings  // nil: no updates
	// now is the agent's clock; nil is time.Now. Never set from the file:
	// tests compress the guard's quiet period with it.
	now func() time.Time
}

// credential is a certificate the config names, with the field and the
// place it was set ("agent.yaml:4"), for errors found after loading.
type credential struct {
	Field, At string
	Leaf      *x509.Certificate
}

// logSettings say where and how the agent logs.
type logSettings struct {
	Level    slog.Level
	Format   string // text|json
	File     string // "" = stderr
	MaxBytes int64
	MaxFiles int
}

// loadConfig reads the config file at path, applies the flag overrides,
// validates every field and loads the certificate files. Its error lists
// every problem found, each naming the file and line (or flag) and field.
func loadConfig(path string, ov overrides) (*config, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	var fc fileConfig
	d := newDecoder(path)
	fields := fc.fields()
	if !d.document(raw, fields) {
		return nil, d.errs
	}
	applyOverrides(d, fields, ov)
	cfg := fc.build(d, filepath.Dir(path))
	if len(d.errs) > 0 {
		return nil, d.errs
	}
	cfg.Path = path
	applyLinkFlags(cfg)
	return cfg, nil
}

func applyOverrides(d *decoder, fields []field, ov overrides) {
	if ov.LogLevel != nil {
		d.override(fields, "logLevel", "--log-level", *ov.LogLevel)
	}
	if ov.StorePath != nil {
		d.override(fields, "storePath", "--store", *ov.StorePath)
	}
	if ov.HealthAddress != nil {
		d.override(fields, "healthAddress", "--health", *ov.HealthAddress)
	}
}

// checkHostPort accepts host:port.
func checkHostPort(s string) (string, error) {
	if _, _, err := net.SplitHostPort(s); err != nil && s != "" {
		return "", fmt.Errorf("want host:port, got %q", s)
	}
	return s, nil
}

// checkHealthAddress accepts "" (disabled) or a loopback host:port.
func checkHealthAddress(s string) (string, error) {
	if s == "" {
		return "", nil
	}
	return checkLoopback(s)
}

// checkLoopback accepts host:port whose host is a loopback IP literal or
// "localhost" (returned as 127.0.0.1, so name resolution cannot widen the
// bind). The health endpoint and host link carry device state and must
// never be reachable from the hospital network.
func checkLoopback(s string) (string, error) {
	host, port, err := net.SplitHostPort(s)
	if err != nil {
		return "", fmt.Errorf("want a loopback host:port such as 127.0.0.1:47801, got %q", s)
	}
	if host == "localhost" {
		return net.JoinHostPort("127.0.0.1", port), nil
	}
	ip, err := netip.ParseAddr(host)
	if err != nil || !ip.Unmap().IsLoopback() {
		return "", fmt.Errorf("%q is not a loopback address: only 127.0.0.0/8, ::1 or localhost are allowed, so the endpoint is never reachable from the network", s)
	}
	return s, nil
}

// resolve makes p absolute against dir (the config file's directory).
func resolve(dir, p string) string {
	if p == "" || filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(dir, p)
}

// requireFields reports each required field left empty. The device's
// identity comes from exactly one of certFile/keyFile (a fixed
// certificate) and provisioning (DPS); with provisioning, the hub's host
// name and the device id come from DPS.
func (fc *fileConfig) requireFields(d *decoder) {
	static := fc.Provisioning == nil
	required := []struct {
		name, value string
		when        bool
		why         string
	}{
		{"hubHostName", fc.HubHostName, static, ""},
		{"caFile", fc.CAFile, true, ""},
		{"certFile", fc.CertFile, static, " (or a provisioning section, to get the identity from DPS)"},
		{"keyFile", fc.KeyFile, static, " (or a provisioning section, to get the identity from DPS)"},
		{"deviceId", fc.DeviceID, static, ""},
	}
	for _, r := range required {
		if r.when && strings.TrimSpace(r.value) == "" {
			d.fail(r.name, "is required%s", r.why)
		}
	}
	if !static {
		fc.Provisioning.require(d)
	}
	if !static && (fc.CertFile != "" || fc.KeyFile != "") {
		name := "certFile"
		if fc.CertFile == "" {
			name = "keyFile"
		}
		d.fail("provisioning", "set either certFile and keyFile (a fixed device certificate) or provisioning "+
			"(an identity issued by DPS), not both; %s is set at %s", name, d.where(name))
	}
}
