package main

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
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

// TestUpdatesPublishAndDeploy publishes into a lab hub's blob store,
// resumes a download with a Range request on the published URL as a
// device would (resolving the hub's host name, trusting its CA), checks
// that the URL cannot write, and deploys the URL through the hub's REST
// API into a device's desired twin.
func TestUpdatesPublishAndDeploy(t *testing.T) {
	_, dir, payload := makeSignedUpdate(t)
	state := t.TempDir()
	info, _, _ := startLabHub(t, state)
	if err := runPKI(t.Context(), []string{"device", "--id", "lab-7", "--state", state}, io.Discard, io.Discard); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := run(t.Context(), []string{"updates", "publish", "--dir", dir, "--state", state}, &out, t.Output()); err != nil {
		t.Fatalf("updates publish = %v", err)
	}
	if !strings.Contains(out.String(), fmt.Sprintf("carto-7.3.0.img: %d bytes in", len(payload))) {
		t.Errorf("publish printed %q, want a line for the file with its size", out.String())
	}
	pub := readPublished(t, dir)
	u := pub.Files["carto-7.3.0.img"]
	_, port, _ := net.SplitHostPort(info.HTTPSAddress)
	prefix := "https://localhost:" + port + "/updates/Cloud-Pillar/carto3-v7/7.3.0/carto-7.3.0.img?"
	if len(pub.Files) != 1 || !strings.HasPrefix(u, prefix) || pub.PublishedAt.IsZero() {
		t.Fatalf("%s = %+v, want the file under %s", publishedFile, pub, prefix)
	}

	c := labHTTPS(t, info)
	req, _ := http.NewRequest(http.MethodGet, u, nil)
	req.Header.Set("Range", "bytes=100-")
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusPartialContent || string(body) != string(payload[100:]) {
		t.Fatalf("range GET = %s, %d bytes; want 206 and the rest of the file", resp.Status, len(body))
	}
	req, _ = http.NewRequest(http.MethodPut, u, strings.NewReader("not the update"))
	req.Header.Set("x-ms-blob-type", "BlockBlob")
	if resp, err := c.Do(req); err != nil || resp.StatusCode != http.StatusForbidden {
		t.Fatalf("PUT on the published URL = %v, %v; want 403", resp, err)
	} else {
		resp.Body.Close()
	}

	desired := deployWithin(t, state, dir, "lab-7")
	if len(desired.FileURLs) != 1 || slices.Collect(maps.Values(desired.FileURLs))[0] != u {
		t.Fatalf("desired fileUrls = %v, want the published URL %s", desired.FileURLs, u)
	}
}

// TestUpdatesPublishRepublishes: publishing again replaces the blobs and
// the URLs, and deploy refuses a published.json that lacks a file.
func TestUpdatesPublishRepublishes(t *testing.T) {
	_, dir, _ := makeSignedUpdate(t)
	state := t.TempDir()
	startLabHub(t, state)
	for range 2 {
		if err := run(t.Context(), []string{"updates", "publish", "--dir", dir, "--state", state}, io.Discard, t.Output()); err != nil {
			t.Fatalf("updates publish = %v", err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, publishedFile), []byte(`{"files":{}}`), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := deployment(deployFlags{dir: dir}, time.Now())
	if err == nil || !strings.Contains(err.Error(), `no URL for file "carto-7.3.0.img"`) {
		t.Fatalf("deployment with an empty %s = %v, want it to name the missing file", publishedFile, err)
	}
}

// TestUpdatesPublishErrors: a missing --dir is a usage error; without a
// running hub's hub.json publish says how to start one; a file changed
// after updates create is caught by the check of the published copy, and
// the earlier published.json is gone.
func TestUpdatesPublishErrors(t *testing.T) {
	if err := run(t.Context(), []string{"updates", "publish"}, io.Discard, io.Discard); !errors.Is(err, errUsage) {
		t.Fatalf("publish without --dir = %v, want a usage error", err)
	}
	_, dir, _ := makeSignedUpdate(t)
	noHub := t.TempDir()
	err := run(t.Context(), []string{"updates", "publish", "--dir", dir, "--state", noHub}, io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "cloudpillar hub --state "+noHub) {
		t.Fatalf("publish without a hub = %v, want advice to start one", err)
	}
	state := t.TempDir()
	startLabHub(t, state)
	if err := run(t.Context(), []string{"updates", "publish", "--dir", dir, "--state", state}, io.Discard, t.Output()); err != nil {
		t.Fatalf("updates publish = %v", err)
	}
	if err := os.WriteFile(filepath.Join(dir, filesDir, "carto-7.3.0.img"), []byte("tampered"), 0o644); err != nil {
		t.Fatal(err)
	}
	err = run(t.Context(), []string{"updates", "publish", "--dir", dir, "--state", state}, io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "the manifest says") {
		t.Fatalf("publish of a changed file = %v, want the SHA-256 check to fail", err)
	}
	if _, err := os.Stat(filepath.Join(dir, publishedFile)); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("a failed publish left %s (%v)", publishedFile, err)
	}
}

func TestBlobNames(t *testing.T) {
	m := update.Manifest{UpdateID: update.UpdateID{Provider: "Cloud Pillar", Name: "carto3/v7", Version: "7.3.0+rc1"},
		Files: []update.FileEntry{{Name: "rootfs a.img"}, {Name: "boot.img"}}}
	got, err := blobNames(m)
	want := map[string]string{"rootfs a.img": "Cloud-Pillar/carto3-v7/7.3.0-rc1/rootfs-a.img", "boot.img": "Cloud-Pillar/carto3-v7/7.3.0-rc1/boot.img"}
	if err != nil || !maps.Equal(got, want) {
		t.Fatalf("blobNames = %v, %v; want %v", got, err, want)
	}
	m.Files = append(m.Files, update.FileEntry{Name: "rootfs-a.img"})
	if _, err := blobNames(m); err == nil {
		t.Fatal("blobNames accepted two files with one blob name")
	}
	m.Files = []update.FileEntry{{Name: "../x.img"}}
	if _, err := blobNames(m); err == nil {
		t.Fatal("blobNames accepted a file name with a path")
	}
}

func readPublished(t *testing.T, dir string) published {
	t.Helper()
	var p published
	if err := json.Unmarshal(labReadFile(t, filepath.Join(dir, publishedFile)), &p); err != nil {
		t.Fatal(err)
	}
	return p
}

// labHTTPS is a client that trusts the lab hub's CA and resolves names as
// a device does.
func labHTTPS(t *testing.T, info hubInfo) *http.Client {
	t.Helper()
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(labReadFile(t, info.CAFile)) {
		t.Fatalf("%s: no certificates", info.CAFile)
	}
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12}}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: 30 * time.Second}
}

// deployWithin deploys to id (the hub registers it within its scan
// interval), then reads the desired deviceUpdate.service back through the
// REST API.
func deployWithin(t *testing.T, state, dir, id string) update.ServiceUpdate {
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
	var twin struct {
		Properties struct {
			Desired struct {
				DeviceUpdate struct {
					Service update.ServiceUpdate `json:"service"`
				} `json:"deviceUpdate"`
			} `json:"desired"`
		} `json:"properties"`
	}
	getTwin(t, state, id, &twin)
	su := twin.Properties.Desired.DeviceUpdate.Service
	if su.Workflow.ID != "wf-lab" || su.UpdateManifestSignature == "" {
		t.Fatalf("desired deviceUpdate.service = %+v, want the deployment", su)
	}
	return su
}

// getTwin reads device id's twin through the lab hub's REST API.
func getTwin(t *testing.T, state, id string, out any) {
	t.Helper()
	info, err := readHubInfo(state)
	if err != nil {
		t.Fatal(err)
	}
	svc, err := newServiceClient(info)
	if err != nil {
		t.Fatal(err)
	}
	if err := svc.call(t.Context(), http.MethodGet, "/twins/"+id+"?api-version="+serviceAPIVersion, nil, out); err != nil {
		t.Fatalf("GET twin %s: %v", id, err)
	}
}
