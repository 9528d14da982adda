package main

import (
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/cloudpillar/cloudpillar/agent/backoff"
	"github.com/cloudpillar/cloudpillar/agent/device/hostlink"
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
	Path              string
	CertAt            string // where certFile was set ("agent.yaml:4"), for later errors
	Hub               hub.Config
	TelemetryInterval time.Duration
	Backoff           backoff.Policy
	StorePath         string
	Log               logSettings
	HealthAddress     string           // "" = no health endpoint
	HostLink          *hostlink.Config // nil = no host link (the device reports idle)
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
	cfg.Path, cfg.CertAt = path, d.where("certFile")
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

// requireFields reports each required field left empty.
func (fc *fileConfig) requireFields(d *decoder) {
	required := []struct{ name, value string }{
		{"hubHostName", fc.HubHostName},
		{"caFile", fc.CAFile},
		{"certFile", fc.CertFile},
		{"keyFile", fc.KeyFile},
		{"deviceId", fc.DeviceID},
	}
	for _, r := range required {
		if strings.TrimSpace(r.value) == "" {
			d.fail(r.name, "is required")
		}
	}
}
