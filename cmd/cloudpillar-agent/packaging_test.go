package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

var (
	// yamlBlockRE finds the YAML code blocks of a Markdown file.
	yamlBlockRE = regexp.MustCompile("(?s)```yaml\n(.*?)```")
	// staticIdentityRE matches the fields provisioning replaces.
	staticIdentityRE = regexp.MustCompile(`^(hubHostName|certFile|keyFile|deviceId):`)
)

// TestPackagingExampleConfigs: the example configs in packaging/README.md
// load as written (with their files in place), so the documentation
// cannot drift from the schema: the full example, and the same with the
// provisioning variant in place of the fixed certificate.
func TestPackagingExampleConfigs(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join("..", "..", "packaging", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	blocks := yamlBlockRE.FindAllStringSubmatch(string(raw), -1)
	if len(blocks) < 2 {
		t.Fatalf("packaging/README.md has %d yaml blocks, want the example config and the provisioning variant", len(blocks))
	}
	full, prov := blocks[0][1], blocks[1][1]
	dir := t.TempDir()
	ca := writePKI(t, dir)
	certPEM, keyPEM, err := ca.IssueDevice("carto-0042")
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(dir, "device-cert.pem"), string(certPEM))
	writeFile(t, filepath.Join(dir, "device-key.pem"), string(keyPEM))
	writeFile(t, filepath.Join(dir, "hostlink.token"), "0123456789abcdef0123456789abcdef\n")
	writeRoots(t, dir)
	if err := os.Rename(filepath.Join(dir, "roots.json"), filepath.Join(dir, "update-roots.json")); err != nil {
		t.Fatal(err)
	}
	cfg, err := loadYAML(t, dir, full, overrides{StorePath: ptr(filepath.Join(dir, "agent.db"))})
	if err != nil {
		t.Fatalf("the example config does not load:\n%v", err)
	}
	if len(cfg.Guard.Windows) != 1 || len(cfg.Logs.Sources) != 2 || cfg.Updates == nil || cfg.HostLink == nil {
		t.Errorf("example config: %d windows, %d log sources, updates %v, host link %v; want 1, 2 (the agent adds the audit log), on, on",
			len(cfg.Guard.Windows), len(cfg.Logs.Sources), cfg.Updates != nil, cfg.HostLink != nil)
	}

	writeLab(t, dir, "carto-0042")
	for from, to := range map[string]string{"boot.pem": "bootstrap-cert.pem", "boot-key.pem": "bootstrap-key.pem"} {
		if err := os.Rename(filepath.Join(dir, from), filepath.Join(dir, to)); err != nil {
			t.Fatal(err)
		}
	}
	var kept []string
	for line := range strings.Lines(full) {
		if !staticIdentityRE.MatchString(line) {
			kept = append(kept, line)
		}
	}
	cfg, err = loadYAML(t, dir, strings.Join(kept, "")+prov+"hubHostName: myhub.azure-devices.net\n", overrides{StorePath: ptr(filepath.Join(dir, "agent.db"))})
	if err != nil {
		t.Fatalf("the example config with provisioning does not load:\n%v", err)
	}
	if cfg.Identity == nil || cfg.Hub.DeviceID != "carto-0042" {
		t.Errorf("provisioning example: identity %v, device %q; want DPS and carto-0042", cfg.Identity != nil, cfg.Hub.DeviceID)
	}
}
