package main

import (
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cloudpillar/cloudpillar/internal/testpki"
)

// writePKI writes ca.pem, a certificate and key for dev-1 (cert.pem,
// key.pem), one for "other" (other.pem, other-key.pem) and a file
// without certificates (bad.pem) into dir.
func writePKI(t testing.TB, dir string) *testpki.CA {
	t.Helper()
	ca, err := testpki.NewCA("config test CA")
	if err != nil {
		t.Fatal(err)
	}
	files := map[string][]byte{"ca.pem": ca.CertPEM, "bad.pem": []byte("not a certificate\n")}
	for id, names := range map[string][2]string{"dev-1": {"cert.pem", "key.pem"}, "other": {"other.pem", "other-key.pem"}} {
		certPEM, keyPEM, err := ca.IssueDevice(id)
		if err != nil {
			t.Fatal(err)
		}
		files[names[0]], files[names[1]] = certPEM, keyPEM
	}
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return ca
}

const validYAML = `hubHostName: hub.example
caFile: ca.pem
certFile: cert.pem
keyFile: key.pem
deviceId: dev-1
`

func TestLoadConfigErrors(t *testing.T) {
	dir := t.TempDir()
	writePKI(t, dir)
	tests := []struct {
		name, yaml, wantErr string
	}{
		{"empty file", "", "hubHostName is required"},
		{"missing deviceId", strings.Replace(validYAML, "deviceId: dev-1\n", "", 1), "deviceId is required"},
		{"missing caFile", strings.Replace(validYAML, "caFile: ca.pem\n", "", 1), "caFile is required"},
		{"missing certFile", strings.Replace(validYAML, "certFile: cert.pem\n", "", 1), "certFile is required"},
		{"missing keyFile", strings.Replace(validYAML, "keyFile: key.pem\n", "", 1), "keyFile is required"},
		{"unknown field", validYAML + "deviceID: dev-1\n", `line 6: unknown field "deviceID"`},
		{"wrong type", validYAML + "telemetryIntervalSeconds: ten\n", "line 6: cannot unmarshal"},
		{"not yaml", "hubHostName: [unterminated\n", "yaml:"},
		{"bad hubAddress", validYAML + "hubAddress: hub.example\n", `hubAddress "hub.example": want host:port`},
		{"negative interval", validYAML + "telemetryIntervalSeconds: -1\n", "telemetryIntervalSeconds -1: must be positive"},
		{"bad logLevel", validYAML + "logLevel: verbose\n", `logLevel "verbose": want debug, info, warn or error`},
		{"bad logFormat", validYAML + "logFormat: xml\n", `logFormat "xml": want text or json`},
		{"caFile without certificates", strings.Replace(validYAML, "ca.pem", "bad.pem", 1), `caFile "bad.pem": no certificates found`},
		{"caFile missing", strings.Replace(validYAML, "ca.pem", "nope.pem", 1), `caFile "nope.pem": open`},
		{"certFile not PEM", strings.Replace(validYAML, "cert.pem", "bad.pem", 1), `certFile "bad.pem" / keyFile "key.pem"`},
		{"key does not match cert", strings.Replace(validYAML, "key.pem", "other-key.pem", 1), "private key does not match public key"},
		{"CN mismatch", strings.NewReplacer("cert.pem", "other.pem", "key.pem", "other-key.pem").Replace(validYAML),
			`certFile "other.pem" is issued to "other" (subject CN) but deviceId is "dev-1": they must match`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(dir, "agent.yaml")
			if err := os.WriteFile(path, []byte(tc.yaml), 0o600); err != nil {
				t.Fatal(err)
			}
			_, err := loadConfig(path)
			if err == nil {
				t.Fatalf("loadConfig(%q) = nil error, want %q", tc.yaml, tc.wantErr)
			}
			if !strings.HasPrefix(err.Error(), "config "+path+": ") || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("loadConfig error = %q, want prefix %q containing %q", err, "config "+path+": ", tc.wantErr)
			}
		})
	}
}

func TestLoadConfigMissingFile(t *testing.T) {
	_, err := loadConfig(filepath.Join(t.TempDir(), "absent.yaml"))
	if err == nil || !strings.Contains(err.Error(), "absent.yaml") {
		t.Fatalf("loadConfig(absent) = %v, want an error naming the file", err)
	}
}

func TestLoadConfigDefaults(t *testing.T) {
	dir := t.TempDir()
	writePKI(t, dir)
	path := filepath.Join(dir, "agent.yaml")
	if err := os.WriteFile(path, []byte(validYAML), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := loadConfig(path)
	if err != nil {
		t.Fatal(err)
	}
	checks := []struct {
		name      string
		got, want any
	}{
		{"DeviceID", cfg.Hub.DeviceID, "dev-1"},
		{"HostName", cfg.Hub.HostName, "hub.example"},
		{"Address", cfg.Hub.Address, "hub.example:8883"},
		{"TelemetryInterval", cfg.TelemetryInterval, 10 * time.Second},
		{"LogLevel", cfg.LogLevel, slog.LevelInfo},
		{"LogFormat", cfg.LogFormat, "json"},
		{"has RootCAs", cfg.Hub.RootCAs != nil, true},
		{"certificate CN", cfg.Hub.Certificate.Leaf.Subject.CommonName, "dev-1"},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
		}
	}
}

func TestLoadConfigExplicitValues(t *testing.T) {
	dir := t.TempDir()
	writePKI(t, dir)
	sub := filepath.Join(dir, "etc")
	if err := os.Mkdir(sub, 0o700); err != nil {
		t.Fatal(err)
	}
	// Absolute paths are used as they are; the config lives elsewhere.
	body := strings.NewReplacer("ca.pem", filepath.Join(dir, "ca.pem"), "cert.pem", filepath.Join(dir, "cert.pem"),
		"key.pem", filepath.Join(dir, "key.pem")).Replace(validYAML) +
		"hubAddress: 127.0.0.1:9999\ntelemetryIntervalSeconds: 2\nlogLevel: debug\nlogFormat: text\n"
	path := filepath.Join(sub, "agent.yaml")
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := loadConfig(path)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Hub.Address != "127.0.0.1:9999" || cfg.TelemetryInterval != 2*time.Second ||
		cfg.LogLevel != slog.LevelDebug || cfg.LogFormat != "text" {
		t.Errorf("loadConfig = address %q interval %v level %v format %q, want 127.0.0.1:9999 2s DEBUG text",
			cfg.Hub.Address, cfg.TelemetryInterval, cfg.LogLevel, cfg.LogFormat)
	}
}
