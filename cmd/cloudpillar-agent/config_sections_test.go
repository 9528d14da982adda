package main

import (
	"bytes"
	"io"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cloudpillar/cloudpillar/agent/identity"
	"github.com/cloudpillar/cloudpillar/agent/logship"
	"github.com/cloudpillar/cloudpillar/agent/update/updatetest"
	"github.com/cloudpillar/cloudpillar/internal/testpki"
)

// writeLab writes a lab PKI's operational CA (ca.pem: what the hub and
// DPS present) and a bootstrap credential for regID (boot.pem with its
// chain, boot-key.pem) into dir.
func writeLab(t testing.TB, dir, regID string) *testpki.LabPKI {
	t.Helper()
	lab, err := testpki.NewLabPKI(testpki.LabOptions{})
	if err != nil {
		t.Fatal(err)
	}
	boot, err := lab.IssueBootstrap(regID, "")
	if err != nil {
		t.Fatal(err)
	}
	chainPEM, keyPEM, err := boot.PEM()
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(dir, "ca.pem"), string(lab.Operational.CertPEM))
	writeFile(t, filepath.Join(dir, "boot.pem"), string(chainPEM))
	writeFile(t, filepath.Join(dir, "boot-key.pem"), string(keyPEM))
	return lab
}

// writeRoots writes a trusted update root set with one key (roots.json).
func writeRoots(t testing.TB, dir string) {
	t.Helper()
	k, err := updatetest.NewKey("root-1")
	if err != nil {
		t.Fatal(err)
	}
	b, err := updatetest.RootSet{Version: 3, Keys: []*updatetest.Key{k}}.JSON()
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(dir, "roots.json"), string(b))
}

// provYAML is a complete config that provisions through DPS; the
// provisioning section starts on line 2.
const provYAML = `caFile: ca.pem
provisioning:
  idScope: 0ne00C1AB00
  certFile: boot.pem
  keyFile: boot-key.pem
`

// sectionsYAML sets every section the agent library offers, on top of
// validYAML (lines 1-5).
const sectionsYAML = validYAML + `storePath: state/agent.db
logFile: logs/agent.log
batchSamples: 6
auditLog: audit/guard.log
guard:
  quietPeriodMinutes: 15
  timeZone: Europe/Berlin
  windows:
    - start: "0 2 * * 6"
      durationMinutes: 240
    - {start: "30 22 * * 1-5", durationMinutes: 60, timeZone: America/New_York}
logs:
  httpsAddress: 127.0.0.1:8443
  bytesPerSecond: 65536
  sources:
    - name: device
      kind: device
      root: /var/log/carto
      patterns: ["*.log", "*.log.[0-9]"]
      retentionDays: 30
    - name: cases
      kind: case
      glob: exports/*.zip
  redaction:
    - name: serial
      regex: 'SN-\d{6}'
updates:
  rootsFile: roots.json
  device: {manufacturer: Biosense Webster, model: CARTO 3, hardwareId: hw-7}
  installer:
    timeoutMinutes: 20
    env: [SLOT_ROOT=/opt/carto]
`

// TestLoadConfigSections: every section beyond the hub connection parses
// into what the agent library takes, with relative paths resolved and
// defaults next to the store.
func TestLoadConfigSections(t *testing.T) {
	dir := t.TempDir()
	writePKI(t, dir)
	writeRoots(t, dir)
	cfg, err := loadYAML(t, dir, sectionsYAML, overrides{})
	if err != nil {
		t.Fatal(err)
	}
	state := filepath.Join(dir, "state")
	u := cfg.Updates
	checks := []struct {
		name      string
		got, want any
	}{
		{"BatchSamples", cfg.BatchSamples, 6},
		{"AuditLogPath", cfg.AuditLogPath, filepath.Join(dir, "audit", "guard.log")},
		{"QuietPeriod", cfg.Guard.QuietPeriod, 15 * time.Minute},
		{"TimeZone", cfg.TimeZone, "Europe/Berlin"},
		{"windows", len(cfg.Guard.Windows), 2},
		{"window 0", cfg.Guard.Windows[0].String(), `"0 2 * * 6" for 4h0m0s in Europe/Berlin`},
		{"window 1", cfg.Guard.Windows[1].String(), `"30 22 * * 1-5" for 1h0m0s in America/New_York`},
		{"HTTPSAddress", cfg.Logs.HTTPSAddress, "127.0.0.1:8443"},
		{"BytesPerSecond", cfg.Logs.BytesPerSecond, int64(65536)},
		{"sources (the agent adds the audit log itself)", len(cfg.Logs.Sources), 3},
		{"source 0", sourceString(cfg.Logs.Sources[0]), "device deviceLog /var/log/carto [*.log *.log.[0-9]] 720h0m0s false"},
		{"source 1 (glob)", sourceString(cfg.Logs.Sources[1]), "cases caseExport " + filepath.Join(dir, "exports") + " [*.zip] 0s false"},
		{"source 2 (built-in agent)", sourceString(cfg.Logs.Sources[2]), "agent agentLog " + filepath.Join(dir, "logs") + " [agent.log agent.log.*] 0s false"},
		{"redaction (defaults + 1)", len(cfg.Logs.Redaction), len(logship.DefaultPatterns()) + 1},
		{"redaction serial", cfg.Logs.Redaction[len(cfg.Logs.Redaction)-1], logship.Pattern{Name: "serial", Regexp: `SN-\d{6}`, Replace: "[REDACTED]"}},
		{"roots version", u.Roots.Version(), uint64(3)},
		{"roots keys", strings.Join(u.Roots.KeyIDs(), ","), "root-1"},
		{"device", u.Device.Manufacturer + "/" + u.Device.Model + "/" + u.Device.HardwareID, "Biosense Webster/CARTO 3/hw-7"},
		{"update dir (default)", u.Dir, filepath.Join(state, "updates")},
		{"installer dir (default)", u.InstallerDir, filepath.Join(state, "installer")},
		{"installer timeout", u.InstallerTimeout, 20 * time.Minute},
		{"installer env", strings.Join(u.InstallerEnv, " "), "SLOT_ROOT=/opt/carto"},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
		}
	}
}

func sourceString(s logship.Source) string {
	return strings.Join([]string{s.Name, string(s.Kind), s.Root, "[" + strings.Join(s.Patterns, " ") + "]", s.Retention.String()}, " ") +
		map[bool]string{true: " true", false: " false"}[s.Raw]
}

// TestLoadConfigProvisioning: a provisioning section instead of
// certFile/keyFile gives the agent an IdentityConfig on the bootstrap
// credential; the device id defaults to the registration id (the
// bootstrap certificate's CN) and the identity lives next to the store.
func TestLoadConfigProvisioning(t *testing.T) {
	dir := t.TempDir()
	writeLab(t, dir, "carto-0042")
	body := provYAML + `  globalEndpoint: dps.example:8884
  keyType: ecdsa-p256
  renewAtPercent: 70
  urgentMarginHours: 48
  timeoutSeconds: 30
storePath: state/agent.db
`
	cfg, err := loadYAML(t, dir, body, overrides{})
	if err != nil {
		t.Fatal(err)
	}
	ic := cfg.Identity
	if ic == nil {
		t.Fatal("Identity = nil, want the DPS identity")
	}
	p := ic.Provision
	checks := []struct {
		name      string
		got, want any
	}{
		{"DeviceID", cfg.Hub.DeviceID, "carto-0042"},
		{"HostName (from DPS)", cfg.Hub.HostName, ""},
		{"Address (from DPS)", cfg.Hub.Address, ""},
		{"no fixed certificate", len(cfg.Hub.Certificate.Certificate), 0},
		{"Dir", ic.Dir, filepath.Join(dir, "state", "identity")},
		{"KeyType", ic.KeyType, identity.P256},
		{"Renewal", ic.Renewal, identity.Renewal{Fraction: 0.7, UrgentMargin: 48 * time.Hour}},
		{"IDScope", p.IDScope, "0ne00C1AB00"},
		{"RegistrationID", p.RegistrationID, "carto-0042"},
		{"Address", p.Address, "dps.example:8884"},
		{"ServerName", p.ServerName, "dps.example"},
		{"Timeout", p.Timeout, 30 * time.Second},
		{"bootstrap chain", len(p.Certificate.Certificate) > 1, true},
		{"RootCAs", p.RootCAs != nil && p.RootCAs == cfg.Hub.RootCAs, true},
		{"Credential", cfg.Credential.Field + " " + cfg.Credential.At, "provisioning.certFile " + filepath.Join(dir, "agent.yaml") + ":4"},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
		}
	}
	// Defaults: Azure's global endpoint, P-384, 80 %.
	cfg, err = loadYAML(t, dir, provYAML+"deviceId: other-id\nhubAddress: 127.0.0.1:8883\n", overrides{})
	if err != nil {
		t.Fatal(err)
	}
	p = cfg.Identity.Provision
	if p.Address != "global.azure-devices-provisioning.net:8883" || p.ServerName != "global.azure-devices-provisioning.net" ||
		cfg.Identity.KeyType != "" || cfg.Identity.Renewal.Fraction != 0.8 || cfg.Hub.DeviceID != "other-id" || cfg.Hub.Address != "127.0.0.1:8883" {
		t.Errorf("defaults: provision %s (%s), key type %q, renewal %v, device %q, hub address %q", p.Address, p.ServerName,
			cfg.Identity.KeyType, cfg.Identity.Renewal, cfg.Hub.DeviceID, cfg.Hub.Address)
	}
}

// TestCheckConfigSectionErrors: each invalid new field fails
// --check-config (exit 2) with the file, the line and the field's path.
func TestCheckConfigSectionErrors(t *testing.T) {
	dir := t.TempDir()
	writePKI(t, dir)
	writeLab(t, dir, "carto-0042") // replaces ca.pem with the lab's: only chains are checked here
	writeRoots(t, dir)
	writeFile(t, filepath.Join(dir, "bad-roots.json"), "{\n  \"version\": 1,\n  \"threshold\": 1\n  \"keys\": []\n}\n")
	writeFile(t, filepath.Join(dir, "two-roots.json"), `{"version": 1, "threshold": 2, "keys": []}`)
	prov := func(extra string) string { return provYAML + extra }
	sec := func(s string) string { return validYAML + s } // s starts on line 6
	tests := []struct {
		name, yaml, want string // want follows "<dir>/agent.yaml"
	}{
		// Identity source.
		{"certFile and provisioning", sec(strings.TrimPrefix(provYAML, "caFile: ca.pem\n")),
			":6: provisioning: set either certFile and keyFile (a fixed device certificate) or provisioning (an identity issued by DPS), not both; certFile is set at "},
		{"neither certFile nor provisioning", "hubHostName: h\ncaFile: ca.pem\ndeviceId: d\n",
			": certFile: is required (or a provisioning section, to get the identity from DPS)"},
		{"provisioning without idScope", "caFile: ca.pem\nprovisioning:\n  certFile: boot.pem\n  keyFile: boot-key.pem\n", ":2: provisioning.idScope: is required"},
		{"provisioning without keyFile", "caFile: ca.pem\nprovisioning:\n  idScope: x1\n  certFile: boot.pem\n", ":2: provisioning.keyFile: is required"},
		{"provisioning not a mapping", "caFile: ca.pem\nprovisioning: dps\n", `:2: provisioning: must be a mapping of fields, got "dps"`},
		{"provisioning unknown key", prov("  scope: x\n"), ":6: provisioning.scope: unknown field; known fields here: globalEndpoint,"},
		{"idScope twice", prov("  idScope: 0ne00\n"), ":6: provisioning.idScope: appears twice (first at "},
		{"idScope with a space", strings.Replace(provYAML, "0ne00C1AB00", "'0ne 00'", 1), `:3: provisioning.idScope: want the DPS id scope`},
		{"registrationId is not the CN", prov("  registrationId: carto-0043\n"),
			`:6: provisioning.registrationId: "carto-0043" does not match the bootstrap certificate's subject CN "carto-0042"`},
		{"registrationId with a slash", prov("  registrationId: carto/1\n"), `:6: provisioning.registrationId: registration id "carto/1": character '/' is not allowed`},
		{"globalEndpoint a URL", prov("  globalEndpoint: https://dps.example\n"), `:6: provisioning.globalEndpoint: want host or host:port`},
		{"globalEndpoint bad port", prov("  globalEndpoint: dps.example:99999\n"),
			`:6: provisioning.globalEndpoint: want host or host:port, such as global.azure-devices-provisioning.net, got "dps.example:99999": port "99999" is not a number`},
		{"bad keyType", prov("  keyType: rsa\n"), `:6: provisioning.keyType: must be one of ecdsa-p384, ecdsa-p256, got "rsa"`},
		{"renewAtPercent too high", prov("  renewAtPercent: 99\n"), ":6: provisioning.renewAtPercent: must be an integer between 50 and 95, got 99"},
		{"bootstrap missing", strings.Replace(provYAML, "boot.pem", "nope.pem", 1), ":4: provisioning.certFile: " + dir + "/nope.pem with keyFile"},
		{"bootstrap key mismatch", strings.Replace(provYAML, "boot-key.pem", "key.pem", 1), ":4: provisioning.certFile: " + dir + "/boot.pem with keyFile " + dir + "/key.pem: tls: private key does not match public key"},
		// Telemetry.
		{"batchSamples zero", sec("batchSamples: 0\n"), ":6: batchSamples: must be an integer between 1 and 100, got 0"},
		{"batchSamples text", sec("batchSamples: many\n"), `:6: batchSamples: must be an integer between 1 and 100, got "many"`},
		// Guard.
		{"quiet period below the floor", sec("guard:\n  quietPeriodMinutes: 0\n"), ":7: guard.quietPeriodMinutes: must be an integer between 1 and 1440, got 0"},
		{"quiet period wrong type", sec("guard:\n  quietPeriodMinutes: [10]\n"), ":7: guard.quietPeriodMinutes: must be an integer between 1 and 1440, got a list"},
		{"bad time zone", sec("guard:\n  timeZone: Mars/Olympus\n"), `:7: guard.timeZone: unknown time zone "Mars/Olympus"`},
		{"Local time zone", sec("guard:\n  timeZone: Local\n"), `:7: guard.timeZone: want an IANA time zone name`},
		{"bad window", sec("guard:\n  windows:\n    - start: \"0 2 * * 6\"\n      durationMinutes: 60\n    - start: \"61 2 * * *\"\n      durationMinutes: 60\n"),
			`:10: guard.windows[1].start: maintenance window: cron start "61 2 * * *": minute field "61": value 61 out of range 0-59`},
		{"window with four fields", sec("guard:\n  windows: [{start: \"0 2 * *\", durationMinutes: 60}]\n"), `:7: guard.windows[0].start: maintenance window: cron start "0 2 * *": want 5 fields`},
		{"window without duration", sec("guard:\n  windows:\n    - start: \"0 2 * * 6\"\n"), ":8: guard.windows[0].durationMinutes: is required"},
		{"window too long", sec("guard:\n  windows:\n    - start: \"0 2 * * 6\"\n      durationMinutes: 20000\n"),
			":9: guard.windows[0].durationMinutes: must be an integer between 1 and 10080, got 20000"},
		{"window bad zone", sec("guard:\n  windows:\n    - {start: \"0 2 * * 6\", durationMinutes: 5, timeZone: Nowhere}\n"), `:8: guard.windows[0].timeZone: unknown time zone "Nowhere"`},
		{"window unknown key", sec("guard:\n  windows:\n    - cron: \"0 2 * * 6\"\n"), ":8: guard.windows[0].cron: unknown field; known fields here: start, durationMinutes, timeZone"},
		{"windows not a list", sec("guard:\n  windows: weekly\n"), `:7: guard.windows: must be a list, got "weekly"`},
		{"window not a mapping", sec("guard:\n  windows:\n    - \"0 2 * * 6\"\n"), `:8: guard.windows[0]: must be a mapping of fields, got "0 2 * * 6"`},
		// Logs.
		{"source kind", sec("logs:\n  sources:\n    - {name: d, kind: syslog, root: /tmp}\n"), `:8: logs.sources[0].kind: must be one of device, agent, audit, case, got "syslog"`},
		{"source name", sec("logs:\n  sources:\n    - name: carto logs\n      kind: device\n      root: /tmp\n"), `:8: logs.sources[0].name: "carto logs": use 1-64 letters`},
		{"source without root", sec("logs:\n  sources:\n    - name: d\n      kind: device\n"), ":8: logs.sources[0].root: is required"},
		{"duplicate source", sec("logs:\n  sources:\n    - {name: d, kind: device, root: /a}\n    - {name: d, kind: case, root: /b}\n"),
			`:9: logs.sources[1].name: "d" names another source too`},
		{"root and glob", sec("logs:\n  sources:\n    - name: d\n      kind: device\n      root: /a\n      glob: /a/*.log\n"), ":11: logs.sources[0].glob: set either root"},
		{"glob with wildcard folder", sec("logs:\n  sources:\n    - name: d\n      kind: device\n      glob: /var/*/x.log\n"), `:10: logs.sources[0].glob: "/var/*/x.log": only the file name may hold wildcards`},
		{"absolute pattern", sec("logs:\n  sources:\n    - name: d\n      kind: device\n      root: /a\n      patterns: [/etc/passwd]\n"),
			`:11: logs.sources[0].patterns: item 1: "/etc/passwd" is not a file name pattern`},
		{"retention zero", sec("logs:\n  sources:\n    - {name: d, kind: device, root: /a, retentionDays: 0}\n"), ":8: logs.sources[0].retentionDays: must be an integer between 1 and 3650"},
		{"regex does not compile", sec("logs:\n  redaction:\n    - name: x\n      regex: 'SN-(\\d+'\n"), ":9: logs.redaction[0].regex: does not compile: error parsing regexp: missing closing )"},
		{"regex matches nothing", sec("logs:\n  redaction:\n    - {name: x, regex: '.*'}\n"), `:8: logs.redaction[0].regex: ".*" matches empty text`},
		{"regex missing", sec("logs:\n  redaction:\n    - {name: x}\n"), ":8: logs.redaction[0].regex: is required"},
		{"pattern name taken", sec("logs:\n  redaction:\n    - {name: mrn, regex: 'X\\d'}\n"), `:8: logs.redaction[0].name: "mrn" names another pattern too`},
		{"defaultRedaction not a bool", sec("logs:\n  defaultRedaction: maybe\n"), `:7: logs.defaultRedaction: must be true or false, got "maybe"`},
		{"bytesPerSecond negative", sec("logs:\n  bytesPerSecond: -1\n"), ":7: logs.bytesPerSecond: must be an integer between 0 and 1073741824, got -1"},
		{"httpsAddress without port", sec("logs:\n  httpsAddress: hub.example\n"), `:7: logs.httpsAddress: want host:port, got "hub.example"`},
		// Updates.
		{"roots file missing", sec("updates:\n  rootsFile: nope.json\n  device: {manufacturer: m, model: x, hardwareId: h}\n"), ":7: updates.rootsFile: open " + dir + "/nope.json"},
		{"roots file not JSON", sec("updates:\n  rootsFile: bad-roots.json\n  device: {manufacturer: m, model: x, hardwareId: h}\n"),
			":7: updates.rootsFile: " + dir + "/bad-roots.json:4: update: malformed-roots"},
		{"roots file refused", sec("updates:\n  rootsFile: two-roots.json\n  device: {manufacturer: m, model: x, hardwareId: h}\n"),
			":7: updates.rootsFile: " + dir + "/two-roots.json: update: malformed-roots: root set threshold 2"},
		{"update device incomplete", sec("updates:\n  rootsFile: roots.json\n  device:\n    manufacturer: m\n    model: x\n"), ":8: updates.device.hardwareId: is required when updates is set"},
		{"update without roots", sec("updates:\n  device: {manufacturer: m, model: x, hardwareId: h}\n"), ":6: updates.rootsFile: is required when updates is set"},
		{"installer env", sec("updates:\n  rootsFile: roots.json\n  device: {manufacturer: m, model: x, hardwareId: h}\n  installer: {env: [NOVALUE]}\n"),
			`:9: updates.installer.env: item 1: "NOVALUE" is not KEY=VALUE`},
		{"installer timeout", sec("updates:\n  rootsFile: roots.json\n  device: {manufacturer: m, model: x, hardwareId: h}\n  installer:\n    timeoutMinutes: 0\n"),
			":10: updates.installer.timeoutMinutes: must be an integer between 1 and 1440, got 0"},
		{"updates unknown key", sec("updates:\n  roots: roots.json\n"), ":7: updates.roots: unknown field; known fields here: rootsFile, device, workDir, installer"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(dir, "agent.yaml")
			writeFile(t, path, tc.yaml)
			err := run(t.Context(), []string{"--config", path, "--check-config"}, io.Discard, io.Discard)
			if want := path + tc.want; err == nil || !strings.Contains(err.Error(), want) {
				t.Fatalf("--check-config of\n%s\n= %v\nwant an error containing %q", tc.yaml, err, want)
			}
			if code := exitCode(err, io.Discard); code != 2 {
				t.Errorf("exit code %d, want 2", code)
			}
		})
	}
}

// TestRunCheckConfigProvisioning: --check-config with provisioning shows
// the DPS registration and the bootstrap certificate, and refuses an
// expired bootstrap certificate (renewals need it too).
func TestRunCheckConfigProvisioning(t *testing.T) {
	dir := t.TempDir()
	writeLab(t, dir, "carto-0042")
	path := filepath.Join(dir, "agent.yaml")
	writeFile(t, path, provYAML+"storePath: agent.db\n")
	var stdout bytes.Buffer
	if err := run(t.Context(), []string{"--config", path, "--check-config"}, &stdout, io.Discard); err != nil {
		t.Fatalf("run --check-config = %v", err)
	}
	for _, want := range []string{"device        carto-0042", "hub           assigned by DPS",
		"provisioning  DPS global.azure-devices-provisioning.net (dial global.azure-devices-provisioning.net:8883), id scope 0ne00C1AB00, registration carto-0042",
		"bootstrap     subject CN=carto-0042", "identity      " + filepath.Join(dir, "identity") + ": none yet",
		"guard         quiet period 10m0s, time zone UTC, no maintenance windows", "audit log     " + filepath.Join(dir, "audit.log"),
		"log upload    off", "updates       off"} {
		if !strings.Contains(stdout.String(), want) {
			t.Errorf("summary does not contain %q:\n%s", want, stdout.String())
		}
	}
	cfg, err := loadConfig(path, overrides{})
	if err != nil {
		t.Fatal(err)
	}
	err = checkConfig(io.Discard, cfg, cfg.Credential.Leaf.NotAfter.Add(time.Hour))
	if want := path + ":4: provisioning.certFile: the certificate expired"; err == nil || !strings.HasPrefix(err.Error(), want) {
		t.Errorf("checkConfig after the bootstrap expiry = %v, want %q", err, want)
	}
}

// TestLoadConfigListsEverySectionError: one run reports the problems of
// every section, each with its line, in file order where lines exist.
func TestLoadConfigListsEverySectionError(t *testing.T) {
	dir := t.TempDir()
	writeLab(t, dir, "carto-0042")
	body := `caFile: ca.pem
provisioning:
  certFile: boot.pem
  keyFile: boot-key.pem
guard:
  timeZone: Atlantis
logs:
  redaction:
    - {name: x, regex: "("}
batchSamples: 0
`
	_, err := loadYAML(t, dir, body, overrides{})
	path := filepath.Join(dir, "agent.yaml")
	wantPrefixes := []string{path + ":6: guard.timeZone:", path + ":10: batchSamples:", path + ":2: provisioning.idScope: is required",
		path + ":9: logs.redaction[0].regex: does not compile"}
	if err == nil {
		t.Fatal("loadConfig = nil, want every problem")
	}
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
