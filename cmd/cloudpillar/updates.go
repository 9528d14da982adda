package main

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/cloudpillar/cloudpillar/agent/update"
	"github.com/cloudpillar/cloudpillar/agent/update/updatetest"
	"github.com/cloudpillar/cloudpillar/devsim/carto"
)

// An update directory (cloudpillar updates create --out DIR):
//
//	DIR/manifest.json   the inner manifest, byte for byte what is signed and deployed
//	DIR/manifest.sig    its updateManifestSignature (updates sign)
//	DIR/files/<name>    the payload files
//	DIR/published.json  each file's download URL in the hub's blob store (updates publish)
const (
	manifestFile  = "manifest.json"
	signatureFile = "manifest.sig"
	filesDir      = "files"
	publishedFile = "published.json"
)

const updatesUsage = `usage:
  cloudpillar updates create --out DIR --version V --counter N --file PATH [--file PATH...]
        [--line L] [--provider P] [--expires D] [--manufacturer M --model M --hardware-id H]
        make an update: copy the files and write the inner manifest (sizes and SHA-256)
  cloudpillar updates sign --dir DIR [--keys KEYDIR]
        sign DIR/manifest.json with the lab signing key (cloudpillar pki update-keys)
  cloudpillar updates publish --dir DIR [--state HUBDIR]
        upload DIR/files into the hub's blob store, check each copy against the manifest,
        and write their download URLs (read-only SAS, 30 days) to DIR/published.json
  cloudpillar updates deploy --dir DIR --device ID[,ID...] [--state HUBDIR] [--url BASE] [--workflow ID]
        set each device's desired deviceUpdate.service through the hub's REST API
        (file URLs from DIR/published.json, or BASE/<file name>)`

// runUpdates implements `cloudpillar updates create|sign|publish|deploy`.
func runUpdates(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	const want = "want `updates create`, `updates sign`, `updates publish` or `updates deploy`"
	if len(args) == 0 {
		return fmt.Errorf("%w: updates: missing subcommand: %s", errUsage, want)
	}
	switch args[0] {
	case "create":
		return runUpdatesCreate(args[1:], stdout, stderr)
	case "sign":
		return runUpdatesSign(args[1:], stdout, stderr)
	case "publish":
		return runUpdatesPublish(ctx, args[1:], stdout, stderr)
	case "deploy":
		return runUpdatesDeploy(ctx, args[1:], stdout, stderr)
	case "help", "-h", "--help":
		fmt.Fprintln(stdout, updatesUsage)
		return nil
	}
	return fmt.Errorf("%w: updates: unknown subcommand %q: %s", errUsage, args[0], want)
}

// listFlag collects a repeatable flag; commas separate values too.
type listFlag []string

func (l *listFlag) String() string { return strings.Join(*l, ",") }

func (l *listFlag) Set(v string) error {
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			*l = append(*l, s)
		}
	}
	return nil
}

type createFlags struct {
	out, version, line, provider string
	counter                      uint64
	expires                      time.Duration
	compat                       update.Compatibility
	files                        listFlag
}

func runUpdatesCreate(args []string, stdout, stderr io.Writer) error {
	var f createFlags
	flags := flag.NewFlagSet("updates create", flag.ContinueOnError)
	flags.SetOutput(stderr)
	flags.StringVar(&f.out, "out", "", "update `DIR` to create (required)")
	flags.StringVar(&f.version, "version", "", "software `VERSION` the update installs (required)")
	flags.Uint64Var(&f.counter, "counter", 0, "release `COUNTER` in its line: must exceed the installed one (required, >= 1)")
	flags.StringVar(&f.line, "line", "carto3-v7", "release `LINE` (update name)")
	flags.StringVar(&f.provider, "provider", "Cloud Pillar", "update `PROVIDER`")
	flags.DurationVar(&f.expires, "expires", 30*24*time.Hour, "metadata lifetime (`DURATION` from now); agents refuse it after")
	flags.StringVar(&f.compat.Manufacturer, "manufacturer", carto.UpdateDevice.Manufacturer, "compatible device manufacturer")
	flags.StringVar(&f.compat.Model, "model", carto.UpdateDevice.Model, "compatible device model")
	flags.StringVar(&f.compat.HardwareID, "hardware-id", carto.UpdateDevice.HardwareID, "compatible hardware id")
	flags.Var(&f.files, "file", "payload `PATH` (repeatable)")
	if help, err := parseCommandFlags(flags, args, "updates create"); help || err != nil {
		return err
	}
	switch {
	case f.out == "" || f.version == "" || f.counter == 0 || len(f.files) == 0:
		return fmt.Errorf("%w: updates create: --out, --version, --counter and at least one --file are required", errUsage)
	case f.expires <= 0:
		return fmt.Errorf("%w: updates create: --expires must be positive", errUsage)
	}
	m, err := createUpdate(f, time.Now())
	if err != nil {
		return fmt.Errorf("updates create: %w", err)
	}
	fmt.Fprintf(stdout, "update %s %s (counter %d, %d files): %s\n", m.Line, m.UpdateID.Version, m.ReleaseCounter, len(m.Files), f.out)
	return nil
}

// createUpdate copies the files into f.out/files and writes the manifest.
func createUpdate(f createFlags, now time.Time) (update.Manifest, error) {
	if err := os.MkdirAll(filepath.Join(f.out, filesDir), 0o755); err != nil {
		return update.Manifest{}, err
	}
	var entries []update.FileEntry
	seen := map[string]bool{}
	for _, path := range f.files {
		name := filepath.Base(path)
		if seen[name] {
			return update.Manifest{}, fmt.Errorf("two files named %q", name)
		}
		seen[name] = true
		content, err := os.ReadFile(path)
		if err != nil {
			return update.Manifest{}, err
		}
		if err := os.WriteFile(filepath.Join(f.out, filesDir, name), content, 0o644); err != nil {
			return update.Manifest{}, err
		}
		entries = append(entries, updatetest.File(name, content))
	}
	m := updatetest.Manifest(f.compat, f.line, f.counter, now.Add(f.expires).UTC().Truncate(time.Second), entries...)
	m.UpdateID.Provider, m.UpdateID.Version = f.provider, f.version
	raw, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return update.Manifest{}, err
	}
	return m, os.WriteFile(filepath.Join(f.out, manifestFile), raw, 0o644)
}

func runUpdatesSign(args []string, stdout, stderr io.Writer) error {
	flags := flag.NewFlagSet("updates sign", flag.ContinueOnError)
	flags.SetOutput(stderr)
	dir := flags.String("dir", "", "update `DIR` (from updates create; required)")
	keys := flags.String("keys", defaultUpdateKeysDir, "update keys `DIR` (from pki update-keys)")
	if help, err := parseCommandFlags(flags, args, "updates sign"); help || err != nil {
		return err
	}
	if *dir == "" {
		return fmt.Errorf("%w: updates sign: --dir is required", errUsage)
	}
	s, err := loadLabSigner(*keys)
	if err != nil {
		return fmt.Errorf("updates sign: %w", err)
	}
	manifest, err := os.ReadFile(filepath.Join(*dir, manifestFile))
	if err != nil {
		return fmt.Errorf("updates sign: %w", err)
	}
	sig, err := s.signManifest(manifest)
	if err != nil {
		return fmt.Errorf("updates sign: %w", err)
	}
	if err := os.WriteFile(filepath.Join(*dir, signatureFile), []byte(sig), 0o644); err != nil {
		return fmt.Errorf("updates sign: %w", err)
	}
	fmt.Fprintf(stdout, "signed: %s\n", filepath.Join(*dir, signatureFile))
	return nil
}

func sha256Base64(b []byte) string {
	sum := sha256.Sum256(b)
	return base64.StdEncoding.EncodeToString(sum[:])
}
