package main

import (
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cloudpillar/cloudpillar/agent/backoff"
	"github.com/cloudpillar/cloudpillar/agent/device/hostlink"
	"github.com/cloudpillar/cloudpillar/internal/testpki"
)

// writePKI writes ca.pem, a certificate and key for dev-1 (cert.pem,
// key.pem), one for "other" (other.pem, other-key.pem), a file without
// certificates (bad.pem) and a host link token (token) into dir.
func writePKI(t testing.TB, dir string) *testpki.CA {
	t.Helper()
	ca, err := testpki.NewCA("config test CA")
	if err != nil {
		t.Fatal(err)
	}
	files := map[string][]byte{"ca.pem": ca.CertPEM, "bad.pem": []byte("not a certificate\n"),
		"token": []byte("0123456789abcdef0123456789abcdef\n")}
	for id, names := range map[string][2]string{"dev-1": {"cert.pem", "key.pem"}, "other": {"other.pem", "other-key.pem"}} {
		certPEM, keyPEM, err := ca.IssueDevice(id)
		if err != nil {
			t.Fatal(err)
		}
		files[names[0]], files[names[1]] = certPEM, keyPEM
	}
	for name, data := range files {
		writeFile(t, filepath.Join(dir, name), string(data))
	}
	return ca
}

func writeFile(t testing.TB, path, body string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
}

// validYAML is a complete config; its fields sit on lines 1-5.
const validYAML = `hubHostName: hub.example
caFile: ca.pem
certFile: cert.pem
keyFile: key.pem
deviceId: dev-1
`

// loadYAML writes body to dir/agent.yaml and loads it.
func loadYAML(t testing.TB, dir, body string, ov overrides) (*config, error) {
	t.Helper()
	path := filepath.Join(dir, "agent.yaml")
	writeFile(t, path, body)
	return loadConfig(path, ov)
}

func ptr(s string) *string { return &s }

// TestLoadConfigErrors checks that each bad config names the file, the
// line (where one exists) and the field (issue 4: "a config file with an
// unknown key or wrong type fails --check-config with the line number").
func TestLoadConfigErrors(t *testing.T) {
	dir := t.TempDir()
	writePKI(t, dir)
	writeFile(t, filepath.Join(dir, "short-token"), "abcde\n")
	writeFile(t, filepath.Join(dir, "open-token"), "0123456789abcdef0123\n")
	if err := os.Chmod(filepath.Join(dir, "open-token"), 0o644); err != nil {
		t.Fatal(err)
	}
	drop := func(line string) string { return strings.Replace(validYAML, line+"\n", "", 1) }
	tests := []struct {
		name, yaml string
		ov         overrides
		want       string // after "<dir>/agent.yaml"
	}{
		{"empty file", "", overrides{}, ": hubHostName: is required"},
		{"missing deviceId", drop("deviceId: dev-1"), overrides{}, ": deviceId: is required"},
		{"missing keyFile", drop("keyFile: key.pem"), overrides{}, ": keyFile: is required"},
		{"unknown field, case typo", validYAML + "deviceID: dev-1\n", overrides{}, ":6: deviceID: unknown field (did you mean deviceId?)"},
		{"unknown field", validYAML + "colour: red\n", overrides{}, ":6: colour: unknown field; known fields here: hubHostName,"},
		{"unknown nested field", validYAML + "backoff:\n  base: 1\n", overrides{}, ":7: backoff.base: unknown field; known fields here: baseSeconds, capSeconds"},
		{"duplicate field", validYAML + "deviceId: dev-2\n", overrides{}, ":6: deviceId: appears twice (first at "},
		{"interval not a number", validYAML + "\ntelemetryIntervalSeconds: fast\n", overrides{},
			`:7: telemetryIntervalSeconds: must be an integer between 1 and 86400, got "fast"`},
		{"interval zero", validYAML + "telemetryIntervalSeconds: 0\n", overrides{}, ":6: telemetryIntervalSeconds: must be an integer between 1 and 86400, got 0"},
		{"interval float", validYAML + "telemetryIntervalSeconds: 1.5\n", overrides{}, ":6: telemetryIntervalSeconds: must be an integer between 1 and 86400, got 1.5"},
		{"keepAlive too long", validYAML + "keepAliveSeconds: 3600\n", overrides{}, ":6: keepAliveSeconds: must be an integer between 5 and 1767, got 3600"},
		{"string is a list", validYAML + "logFile: [a, b]\n", overrides{}, ":6: logFile: must be a string, got a list"},
		{"section is a string", validYAML + "backoff: fast\n", overrides{}, `:6: backoff: must be a mapping of fields, got "fast"`},
		{"cap below base", validYAML + "backoff:\n  baseSeconds: 30\n  capSeconds: 10\n", overrides{}, ":8: backoff.capSeconds: the cap (10s) must not be below the base (30s)"},
		{"base above default cap", validYAML + "backoff:\n  baseSeconds: 120\n", overrides{}, ":7: backoff.baseSeconds: the cap (1m0s) must not be below the base (2m0s)"},
		{"bad hubAddress", validYAML + "hubAddress: hub.example\n", overrides{}, `:6: hubAddress: want host:port, got "hub.example"`},
		{"bad logLevel", validYAML + "logLevel: verbose\n", overrides{}, `:6: logLevel: must be one of debug, info, warn, error, got "verbose"`},
		{"bad logFormat", validYAML + "logFormat: xml\n", overrides{}, `:6: logFormat: must be one of text, json, got "xml"`},
		{"logMaxFiles zero", validYAML + "logMaxFiles: 0\n", overrides{}, ":6: logMaxFiles: must be an integer between 1 and 100, got 0"},
		{"health not loopback", validYAML + "healthAddress: 0.0.0.0:47801\n", overrides{}, `:6: healthAddress: "0.0.0.0:47801" is not a loopback address`},
		{"health all interfaces", validYAML + "healthAddress: :47801\n", overrides{}, `:6: healthAddress: ":47801" is not a loopback address`},
		{"health hostname", validYAML + "healthAddress: myhost:47801\n", overrides{}, `:6: healthAddress: "myhost:47801" is not a loopback address`},
		{"health no port", validYAML + "healthAddress: 127.0.0.1\n", overrides{}, `:6: healthAddress: want a loopback host:port`},
		{"--health not loopback", validYAML, overrides{HealthAddress: ptr("10.0.0.1:80")}, `--health: healthAddress: "10.0.0.1:80" is not a loopback address`},
		{"--log-level bad", validYAML, overrides{LogLevel: ptr("loud")}, `--log-level: logLevel: must be one of debug, info, warn, error, got "loud"`},
		{"hostLink without token", validYAML + "hostLink:\n  socket: /tmp/x.sock\n", overrides{}, ":6: hostLink.tokenFile: is required when hostLink is set"},
		{"hostLink token missing", validYAML + "hostLink:\n  tokenFile: nope\n", overrides{}, ":7: hostLink.tokenFile: stat "},
		{"hostLink token too short", validYAML + "hostLink:\n  tokenFile: short-token\n", overrides{}, ":7: hostLink.tokenFile: " + dir + "/short-token holds 5 bytes of token; want at least 16"},
		{"hostLink token readable by others", validYAML + "hostLink:\n  tokenFile: open-token\n", overrides{}, ":7: hostLink.tokenFile: " + dir + "/open-token has mode 0644"},
		{"hostLink both", validYAML + "hostLink:\n  socket: /tmp/x.sock\n  address: 127.0.0.1:1\n  tokenFile: token\n", overrides{},
			":8: hostLink.address: set either hostLink.socket or hostLink.address, not both"},
		{"hostLink not loopback", validYAML + "hostLink:\n  address: 192.168.1.2:80\n  tokenFile: token\n", overrides{}, `:7: hostLink.address: "192.168.1.2:80" is not a loopback address`},
		{"root is a list", "- a\n- b\n", overrides{}, ":1: the config must be a mapping of fields (name: value), got a list"},
		{"not yaml", "hubHostName: [unterminated\n", overrides{}, ":1: not valid YAML: did not find expected"},
		{"caFile without certificates", strings.Replace(validYAML, "ca.pem", "bad.pem", 1), overrides{}, ":2: caFile: " + dir + "/bad.pem: no PEM certificates found"},
		{"caFile missing", strings.Replace(validYAML, "ca.pem", "nope.pem", 1), overrides{}, ":2: caFile: open " + dir + "/nope.pem"},
		{"certFile not PEM", strings.Replace(validYAML, "cert.pem", "bad.pem", 1), overrides{}, ":3: certFile: " + dir + "/bad.pem with keyFile"},
		{"key does not match cert", strings.Replace(validYAML, "key.pem", "other-key.pem", 1), overrides{},
			":3: certFile: " + dir + "/cert.pem with keyFile " + dir + "/other-key.pem: tls: private key does not match public key"},
		{"CN mismatch", strings.NewReplacer("cert.pem", "other.pem", "key.pem", "other-key.pem").Replace(validYAML), overrides{},
			`:5: deviceId: "dev-1" does not match the certificate's subject CN "other"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := loadYAML(t, dir, tc.yaml, tc.ov)
			want := filepath.Join(dir, "agent.yaml") + tc.want
			if strings.HasPrefix(tc.want, "--") {
				want = tc.want
			}
			if err == nil || !strings.Contains(err.Error(), want) {
				t.Fatalf("loadConfig(%q) = %v, want an error containing %q", tc.yaml, err, want)
			}
		})
	}
}

// TestLoadConfigListsEveryError: one run reports all problems, one per line.
func TestLoadConfigListsEveryError(t *testing.T) {
	dir := t.TempDir()
	writePKI(t, dir)
	body := "hubHostName: hub.example\ncolour: red\ntelemetryIntervalSeconds: fast\nlogFormat: xml\n"
	_, err := loadYAML(t, dir, body, overrides{})
	var list configErrors
	if !errors.As(err, &list) {
		t.Fatalf("loadConfig = %v (%T), want configErrors", err, err)
	}
	path := filepath.Join(dir, "agent.yaml")
	wantPrefixes := []string{path + ":2: colour:", path + ":3: telemetryIntervalSeconds:", path + ":4: logFormat:",
		path + ": caFile: is required", path + ": certFile:", path + ": keyFile:", path + ": deviceId:"}
	lines := strings.Split(err.Error(), "\n")
	if len(lines) != len(wantPrefixes) {
		t.Fatalf("got %d errors, want %d:\n%s", len(lines), len(wantPrefixes), err)
	}
	for i, p := range wantPrefixes {
		if !strings.HasPrefix(lines[i], p) {
			t.Errorf("error %d = %q, want prefix %q", i, lines[i], p)
		}
	}
}

func TestLoadConfigMissingFile(t *testing.T) {
	_, err := loadConfig(filepath.Join(t.TempDir(), "absent.yaml"), overrides{})
	if err == nil || !strings.Contains(err.Error(), "absent.yaml") {
		t.Fatalf("loadConfig(absent) = %v, want an error naming the file", err)
	}
}

func TestLoadConfigDefaults(t *testing.T) {
	dir := t.TempDir()
	writePKI(t, dir)
	cfg, err := loadYAML(t, dir, validYAML, overrides{})
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
		{"KeepAlive (agent default)", cfg.Hub.KeepAlive, time.Duration(0)},
		{"TelemetryInterval", cfg.TelemetryInterval, 10 * time.Second},
		{"Backoff (agent default)", cfg.Backoff, backoff.Policy{}},
		{"StorePath", cfg.StorePath, defaultStorePath()},
		{"LogLevel", cfg.Log.Level, slog.LevelInfo},
		{"LogFormat", cfg.Log.Format, "json"},
		{"LogFile", cfg.Log.File, ""},
		{"LogMaxBytes", cfg.Log.MaxBytes, int64(10 << 20)},
		{"LogMaxFiles", cfg.Log.MaxFiles, 5},
		{"HealthAddress", cfg.HealthAddress, "127.0.0.1:47801"},
		{"no HostLink", cfg.HostLink == nil, true},
		{"has RootCAs", cfg.Hub.RootCAs != nil, true},
		{"certificate CN", cfg.Hub.Certificate.Leaf.Subject.CommonName, "dev-1"},
		{"Credential.At", cfg.Credential.At, filepath.Join(dir, "agent.yaml") + ":3"},
		{"Credential.Field", cfg.Credential.Field, "certFile"},
		{"no Identity", cfg.Identity == nil, true},
		{"BatchSamples", cfg.BatchSamples, 0},
		{"QuietPeriod", cfg.Guard.QuietPeriod, 10 * time.Minute},
		{"no windows", len(cfg.Guard.Windows), 0},
		{"TimeZone", cfg.TimeZone, "UTC"},
		{"AuditLogPath", cfg.AuditLogPath, filepath.Join(filepath.Dir(defaultStorePath()), "audit.log")},
		{"no log sources", len(cfg.Logs.Sources), 0},
		{"no updates", cfg.Updates == nil, true},
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
	// Absolute paths are used as they are; relative ones resolve against
	// the config's directory.
	body := strings.NewReplacer("ca.pem", filepath.Join(dir, "ca.pem"), "cert.pem", filepath.Join(dir, "cert.pem"),
		"key.pem", filepath.Join(dir, "key.pem")).Replace(validYAML) + `hubAddress: 127.0.0.1:9999
storePath: state/agent.db
telemetryIntervalSeconds: 2
keepAliveSeconds: 45
backoff: {baseSeconds: 2, capSeconds: 30}
logLevel: debug
logFormat: text
logFile: logs/agent.log
logMaxSizeMB: 3
logMaxFiles: 2
healthAddress: localhost:0
hostLink:
  address: 127.0.0.1:0
  tokenFile: ../token
  timeoutSeconds: 7
`
	cfg, err := loadYAML(t, sub, body, overrides{})
	if err != nil {
		t.Fatal(err)
	}
	checks := []struct {
		name      string
		got, want any
	}{
		{"Address", cfg.Hub.Address, "127.0.0.1:9999"},
		{"StorePath", cfg.StorePath, filepath.Join(sub, "state", "agent.db")},
		{"TelemetryInterval", cfg.TelemetryInterval, 2 * time.Second},
		{"KeepAlive", cfg.Hub.KeepAlive, 45 * time.Second},
		{"Backoff", cfg.Backoff, backoff.Policy{Base: 2 * time.Second, Cap: 30 * time.Second}},
		{"LogLevel", cfg.Log.Level, slog.LevelDebug},
		{"LogFormat", cfg.Log.Format, "text"},
		{"LogFile", cfg.Log.File, filepath.Join(sub, "logs", "agent.log")},
		{"LogMaxBytes", cfg.Log.MaxBytes, int64(3 << 20)},
		{"LogMaxFiles", cfg.Log.MaxFiles, 2},
		{"HealthAddress (localhost pinned)", cfg.HealthAddress, "127.0.0.1:0"},
		{"HostLink", *cfg.HostLink, hostlink.Config{Network: hostlink.NetworkTCP, Address: "127.0.0.1:0",
			TokenFile: filepath.Join(dir, "token"), LinkTimeout: 7 * time.Second}},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
		}
	}
}

// TestLoadConfigOverrides: flags win over the file; an empty --health
// disables the endpoint.
func TestLoadConfigOverrides(t *testing.T) {
	dir := t.TempDir()
	writePKI(t, dir)
	body := validYAML + "logLevel: error\nstorePath: file.db\nhealthAddress: 127.0.0.1:1\n"
	cfg, err := loadYAML(t, dir, body, overrides{LogLevel: ptr("debug"), StorePath: ptr("/flag/agent.db"), HealthAddress: ptr("")})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Log.Level != slog.LevelDebug || cfg.StorePath != "/flag/agent.db" || cfg.HealthAddress != "" {
		t.Errorf("overrides gave level %v store %q health %q, want DEBUG /flag/agent.db \"\"", cfg.Log.Level, cfg.StorePath, cfg.HealthAddress)
	}
}

// TestLoadConfigHealthAddress: a key with no value keeps the default,
// an empty string disables the endpoint.
func TestLoadConfigHealthAddress(t *testing.T) {
	dir := t.TempDir()
	writePKI(t, dir)
	for body, want := range map[string]string{
		validYAML + "healthAddress:\n":           defaultHealthAddress,
		validYAML + "healthAddress: \"\"\n":      "",
		validYAML + "healthAddress: '[::1]:0'\n": "[::1]:0",
	} {
		cfg, err := loadYAML(t, dir, body, overrides{})
		if err != nil {
			t.Fatalf("loadConfig(%q) = %v", body, err)
		}
		if cfg.HealthAddress != want {
			t.Errorf("loadConfig(%q): HealthAddress = %q, want %q", body, cfg.HealthAddress, want)
		}
	}
}

func TestLoadConfigHostLinkSocket(t *testing.T) {
	dir := t.TempDir()
	writePKI(t, dir)
	cfg, err := loadYAML(t, dir, validYAML+"hostLink:\n  socket: run/hostlink.sock\n  tokenFile: token\n", overrides{})
	if err != nil {
		t.Fatal(err)
	}
	want := hostlink.Config{Network: hostlink.NetworkUnix, Address: filepath.Join(dir, "run", "hostlink.sock"), TokenFile: filepath.Join(dir, "token")}
	if *cfg.HostLink != want {
		t.Errorf("HostLink = %+v, want %+v", *cfg.HostLink, want)
	}
}

func TestCheckLoopback(t *testing.T) {
	tests := []struct {
		in, want string
		ok       bool
	}{
		{"127.0.0.1:47801", "127.0.0.1:47801", true},
		{"127.1.2.3:1", "127.1.2.3:1", true},
		{"[::1]:80", "[::1]:80", true},
		{"[::ffff:127.0.0.1]:80", "[::ffff:127.0.0.1]:80", true},
		{"localhost:80", "127.0.0.1:80", true},
		{"0.0.0.0:80", "", false},
		{"[::]:80", "", false},
		{":80", "", false},
		{"10.1.1.1:80", "", false},
		{"example.com:80", "", false},
		{"127.0.0.1", "", false},
	}
	for _, tc := range tests {
		got, err := checkLoopback(tc.in)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("checkLoopback(%q) = %q, %v; want %q, ok=%v", tc.in, got, err, tc.want, tc.ok)
		}
	}
}
