package main

import (
	"context"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cloudpillar/cloudpillar/agent/update"
	"github.com/cloudpillar/cloudpillar/devsim/carto"
)

// makeSignedUpdate runs pki update-keys, updates create and updates sign
// into fresh directories and returns them.
func makeSignedUpdate(t *testing.T) (keys, dir string, payload []byte) {
	t.Helper()
	keys, dir = filepath.Join(t.TempDir(), "keys"), filepath.Join(t.TempDir(), "upd")
	payload = []byte(strings.Repeat("carto software 7.3.0\n", 1000))
	src := filepath.Join(t.TempDir(), "carto-7.3.0.img")
	if err := os.WriteFile(src, payload, 0o644); err != nil {
		t.Fatal(err)
	}
	steps := [][]string{
		{"pki", "update-keys", "--out", keys},
		{"updates", "create", "--out", dir, "--version", "7.3.0", "--counter", "8", "--file", src},
		{"updates", "sign", "--dir", dir, "--keys", keys},
	}
	for _, args := range steps {
		if err := run(t.Context(), args, io.Discard, t.Output()); err != nil {
			t.Fatalf("cloudpillar %s = %v", strings.Join(args, " "), err)
		}
	}
	return keys, dir, payload
}

// TestUpdatesCreateSignVerify checks that what the CLI makes and signs is
// accepted by the agent's own verifier with the lab roots, and that
// tampering with the manifest is caught.
func TestUpdatesCreateSignVerify(t *testing.T) {
	keys, dir, _ := makeSignedUpdate(t)
	checkPerm(t, filepath.Join(keys, rootKeyFile), 0o600)
	checkPerm(t, filepath.Join(keys, signingKeyFile), 0o600)
	roots, err := loadLabRoots(keys)
	if err != nil {
		t.Fatal(err)
	}
	v, err := update.NewVerifier(update.Config{Roots: roots, Device: carto.UpdateDevice})
	if err != nil {
		t.Fatal(err)
	}
	su, err := deployment(deployFlags{dir: dir, url: "http://127.0.0.1:1", workflow: "wf-1"}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	m, err := v.Verify(su, time.Now(), update.State{})
	if err != nil {
		t.Fatalf("Verify = %v, want the signed update accepted", err)
	}
	if m.UpdateID.Version != "7.3.0" || m.ReleaseCounter != 8 || len(m.Files) != 1 || len(su.FileURLs) != 1 {
		t.Fatalf("manifest %+v, urls %v", m, su.FileURLs)
	}
	su.UpdateManifest = strings.Replace(su.UpdateManifest, `"7.3.0"`, `"7.3.1"`, 1)
	if _, err := v.Verify(su, time.Now(), update.State{}); err == nil {
		t.Fatal("Verify accepted a manifest changed after signing")
	}
	if err := run(t.Context(), []string{"pki", "update-keys", "--out", keys}, io.Discard, io.Discard); !errors.Is(err, errUsage) {
		t.Fatalf("update-keys over existing keys = %v, want a usage error", err)
	}
}

// TestUpdatesPublishAndDeploy serves the files, checks a Range request,
// and deploys through a lab hub's REST API into a device's desired twin.
func TestUpdatesPublishAndDeploy(t *testing.T) {
	_, dir, payload := makeSignedUpdate(t)
	state := t.TempDir()
	_, _, stopHub := startLabHub(t, state)
	defer stopHub()
	if err := runPKI(t.Context(), []string{"device", "--id", "lab-7", "--state", state}, io.Discard, io.Discard); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"updates", "publish", "--dir", dir, "--listen", "127.0.0.1:0"}, io.Discard, t.Output())
	}()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("updates publish = %v", err)
		}
	}()
	base := waitPublished(t, dir)
	req, _ := http.NewRequest(http.MethodGet, base+"/carto-7.3.0.img", nil)
	req.Header.Set("Range", "bytes=100-")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusPartialContent || string(body) != string(payload[100:]) {
		t.Fatalf("range GET = %s, %d bytes; want 206 and the rest of the file", resp.Status, len(body))
	}
	deployWithin(t, state, dir, "lab-7")
}

func waitPublished(t *testing.T, dir string) string {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		su, err := deployment(deployFlags{dir: dir, workflow: "probe"}, time.Now())
		if err == nil {
			for _, u := range su.FileURLs {
				return strings.TrimSuffix(u, "/carto-7.3.0.img")
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("publish wrote no %s: %v", publishedFile, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// deployWithin deploys to id (the hub registers it within its scan
// interval), then reads the desired twin back through the REST API.
func deployWithin(t *testing.T, state, dir, id string) {
	t.Helper()
	args := []string{"updates", "deploy", "--dir", dir, "--state", state, "--device", id, "--workflow", "wf-lab"}
	deadline := time.Now().Add(15 * time.Second)
	for {
		err := run(t.Context(), args, io.Discard, io.Discard)
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("updates deploy = %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	info, err := readHubInfo(state)
	if err != nil {
		t.Fatal(err)
	}
	svc, err := newServiceClient(info)
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest(http.MethodGet, svc.base+"/twins/"+id+"?api-version="+serviceAPIVersion, nil)
	tok, _ := svc.token()
	req.Header.Set("Authorization", tok)
	resp, err := svc.http.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), `"wf-lab"`) || !strings.Contains(string(body), `"updateManifestSignature"`) {
		t.Fatalf("GET twin = %s %s, want the deployment in desired deviceUpdate", resp.Status, body)
	}
}
