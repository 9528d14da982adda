package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/amenzhinsky/iothub/iotservice"
)

// labService is the third-party iotservice client on the lab hub's
// iothubowner connection string, dialing its HTTPS address and trusting
// its CA; closed at cleanup.
func labService(t *testing.T, info hubInfo) *iotservice.Client {
	t.Helper()
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(labReadFile(t, info.CAFile)) {
		t.Fatalf("%s: no certificates", info.CAFile)
	}
	tr := &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: roots, ServerName: info.HostName, MinVersion: tls.VersionTLS12},
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, "tcp", info.HTTPSAddress)
		},
	}
	c, err := iotservice.NewFromConnectionString(info.ServiceConnectionString,
		iotservice.WithHTTPClient(&http.Client{Transport: tr, Timeout: 30 * time.Second}))
	if err != nil {
		t.Fatalf("iotservice.NewFromConnectionString: %v", err)
	}
	t.Cleanup(func() {
		c.Close()
		tr.CloseIdleConnections()
	})
	return c
}

// TestHubStartingTwiceKeepsDevicesAndTwins (issue 7, standalone contract):
// devices created over REST and twins changed over REST are there, as they
// were, when `cloudpillar hub` starts again on the same state directory.
func TestHubStartingTwiceKeepsDevicesAndTwins(t *testing.T) {
	dir := t.TempDir()
	first, _, stop := startLabHub(t, dir, "--register", "reg-a")
	svc := labService(t, first)
	ctx := t.Context()
	created, err := svc.CreateDevice(ctx, &iotservice.Device{DeviceID: "svc-1",
		Authentication: &iotservice.Authentication{Type: iotservice.AuthSAS}})
	if err != nil {
		t.Fatalf("CreateDevice: %v", err)
	}
	twin, err := svc.UpdateDeviceTwin(ctx, &iotservice.Twin{DeviceID: "reg-a",
		Tags: map[string]any{"ward": "icu"}, Properties: &iotservice.Properties{Desired: map[string]any{"interval": 30}}})
	if err != nil {
		t.Fatalf("UpdateDeviceTwin: %v", err)
	}
	stop()
	if err := os.Remove(filepath.Join(dir, hubInfoFile)); err != nil { // so the wait sees the new hub's
		t.Fatal(err)
	}

	second, _, _ := startLabHub(t, dir)
	svc = labService(t, second)
	dev, err := svc.GetDevice(ctx, "svc-1")
	if err != nil {
		t.Fatalf("GetDevice after restart: %v", err)
	}
	if dev.ETag != created.ETag || dev.GenerationID != created.GenerationID ||
		dev.Authentication.SymmetricKey.PrimaryKey != created.Authentication.SymmetricKey.PrimaryKey {
		t.Errorf("device after restart = %+v, want %+v", dev, created)
	}
	got, err := svc.GetDeviceTwin(ctx, "reg-a")
	if err != nil {
		t.Fatalf("GetDeviceTwin after restart: %v", err)
	}
	if got.ETag != twin.ETag || got.Version != twin.Version || got.Tags["ward"] != "icu" ||
		got.Properties.Desired["interval"] != 30.0 || got.Properties.Desired["$version"] != twin.Properties.Desired["$version"] {
		t.Errorf("twin after restart = %+v, want %+v", got, twin)
	}
}
