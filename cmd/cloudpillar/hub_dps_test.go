package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/cloudpillar/cloudpillar/agent"
	"github.com/cloudpillar/cloudpillar/agent/hub"
	"github.com/cloudpillar/cloudpillar/agent/provision"
	"github.com/cloudpillar/cloudpillar/internal/agenttest"
)

// TestHubOnALabPKIProvisionsABootstrappedAgent walks the two-phase lab:
// pki init, hub (which then serves DPS and writes its address and id scope
// to hub.json), pki bootstrap, and an agent holding only the bootstrap
// certificate ends up connected with an operational one.
func TestHubOnALabPKIProvisionsABootstrappedAgent(t *testing.T) {
	dir := t.TempDir()
	if err := run(context.Background(), []string{"pki", "init", "--out", dir}, io.Discard, t.Output()); err != nil {
		t.Fatalf("pki init: %v", err)
	}
	info, _, _ := startLabHub(t, dir, "--dps-mqtt", "127.0.0.1:0", "--dps-https", "127.0.0.1:0")
	if info.DPSAddress == "" || info.DPSIDScope == "" || info.DPSServiceConnectionString == "" || info.DPSHTTPSAddress == "" {
		t.Fatalf("hub.json lacks DPS fields: %+v", info)
	}
	out := filepath.Join(dir, "factory")
	if err := run(context.Background(), []string{"pki", "bootstrap", "--id", "lab-boot-1", "--state", dir, "--out", out}, io.Discard, t.Output()); err != nil {
		t.Fatalf("pki bootstrap: %v", err)
	}
	boot, err := tls.LoadX509KeyPair(filepath.Join(out, bootstrapCertFile), filepath.Join(out, "bootstrap-key.pem"))
	if err != nil {
		t.Fatal(err)
	}
	caPEM, err := os.ReadFile(filepath.Join(out, serverCAFile))
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(caPEM)
	a, _ := agenttest.Run(t, agent.Config{
		Hub: hub.Config{Address: info.MQTTAddress, RootCAs: roots, KeepAlive: 5 * time.Second},
		Identity: &agent.IdentityConfig{Dir: t.TempDir(), Provision: provision.Config{
			IDScope: info.DPSIDScope, RegistrationID: "lab-boot-1", Address: info.DPSAddress, ServerName: info.HostName,
			RootCAs: roots, Certificate: &boot, Timeout: 20 * time.Second,
		}},
		Logger: slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn})),
	})
	deadline := time.Now().Add(30 * time.Second)
	for !a.Stats().Connected {
		if time.Now().After(deadline) {
			t.Fatalf("bootstrapped agent not connected (provisioned %d)", a.Stats().Provisioned)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if a.Stats().Provisioned != 1 {
		t.Fatalf("provisioned %d, want 1", a.Stats().Provisioned)
	}
}
