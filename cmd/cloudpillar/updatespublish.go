package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/cloudpillar/cloudpillar/agent/update"
)

// published is DIR/published.json: where devices download each file.
type published struct {
	// Files maps a manifest file name to its download URL in the hub's
	// blob store (read-only SAS, valid 30 days by default).
	Files       map[string]string `json:"files"`
	PublishedAt time.Time         `json:"publishedAt"`
}

// runUpdatesPublish uploads DIR/files into the blob store of the hub that
// DIR/hub.json of --state describes, checks each published copy against
// the manifest, and records the download URLs in DIR/published.json for
// deploy.
func runUpdatesPublish(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	flags := flag.NewFlagSet("updates publish", flag.ContinueOnError)
	flags.SetOutput(stderr)
	dir := flags.String("dir", "", "update `DIR` (from updates create; required)")
	state := flags.String("state", defaultStateDir, "hub state `DIR` (hub.json says where the hub is)")
	if help, err := parseCommandFlags(flags, args, "updates publish"); help || err != nil {
		return err
	}
	if *dir == "" {
		return fmt.Errorf("%w: updates publish: --dir is required", errUsage)
	}
	m, _, err := readManifest(*dir)
	if err != nil {
		return fmt.Errorf("updates publish: %w", err)
	}
	info, err := readHubInfo(*state)
	if err != nil {
		return fmt.Errorf("updates publish: hub state: %w (run `cloudpillar hub --state %s` first)", err, *state)
	}
	svc, err := newServiceClient(info)
	if err != nil {
		return fmt.Errorf("updates publish: %w", err)
	}
	// The blobs are about to be replaced: a failed publish must not leave
	// URLs behind for deploy.
	if err := os.Remove(filepath.Join(*dir, publishedFile)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("updates publish: %w", err)
	}
	pub, err := publishFiles(ctx, svc, *dir, m, stdout)
	if err != nil {
		return fmt.Errorf("updates publish: %w", err)
	}
	raw, err := json.MarshalIndent(pub, "", "  ")
	if err == nil {
		err = os.WriteFile(filepath.Join(*dir, publishedFile), append(raw, '\n'), 0o644)
	}
	if err != nil {
		return fmt.Errorf("updates publish: %w", err)
	}
	fmt.Fprintf(stdout, "published %s %s to the hub at %s: %s\n",
		m.Line, m.UpdateID.Version, info.HTTPSAddress, filepath.Join(*dir, publishedFile))
	return nil
}

// readManifest reads and decodes DIR/manifest.json.
func readManifest(dir string) (update.Manifest, []byte, error) {
	var m update.Manifest
	raw, err := os.ReadFile(filepath.Join(dir, manifestFile))
	if err != nil {
		return m, nil, err
	}
	if err := json.Unmarshal(raw, &m); err != nil {
		return m, nil, fmt.Errorf("%s: %w", manifestFile, err)
	}
	return m, raw, nil
}

// publishFiles publishes every file of m from DIR/files, one progress
// line each.
func publishFiles(ctx context.Context, svc *serviceClient, dir string, m update.Manifest, stdout io.Writer) (published, error) {
	names, err := blobNames(m)
	if err != nil {
		return published{}, err
	}
	pub := published{Files: make(map[string]string, len(m.Files))}
	for _, fe := range m.Files {
		start := time.Now()
		u, err := svc.publishFile(ctx, names[fe.Name], filepath.Join(dir, filesDir, fe.Name), fe)
		if err != nil {
			return published{}, fmt.Errorf("file %q: %w", fe.Name, err)
		}
		pub.Files[fe.Name] = u
		secs := max(time.Since(start).Seconds(), 1e-3)
		fmt.Fprintf(stdout, "  %s: %d bytes in %.1fs (%.1f MB/s), checked\n", fe.Name, fe.SizeInBytes, secs, float64(fe.SizeInBytes)/secs/1e6)
	}
	pub.PublishedAt = time.Now().UTC().Truncate(time.Second)
	return pub, nil
}

// blobNames names each file's blob `<provider>/<name>/<version>/<file>`,
// each part made safe for the hub (blobSegment).
func blobNames(m update.Manifest) (map[string]string, error) {
	prefix := blobSegment(m.UpdateID.Provider) + "/" + blobSegment(m.UpdateID.Name) + "/" + blobSegment(m.UpdateID.Version) + "/"
	names := make(map[string]string, len(m.Files))
	taken := map[string]string{}
	for _, fe := range m.Files {
		if fe.Name == "" || filepath.Base(fe.Name) != fe.Name || strings.ContainsAny(fe.Name, `/\`) {
			return nil, fmt.Errorf("file name %q is not a plain file name", fe.Name)
		}
		n := prefix + blobSegment(fe.Name)
		if other, ok := taken[n]; ok {
			return nil, fmt.Errorf("files %q and %q would both be published as %s", other, fe.Name, n)
		}
		taken[n], names[fe.Name] = fe.Name, n
	}
	return names, nil
}

// blobSegment replaces the characters the hub refuses in a published
// name (all but ASCII letters, digits, '.', '_' and '-') with '-'.
func blobSegment(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '-' {
			return r
		}
		return '-'
	}, s)
}
