package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/go-jose/go-jose/v4"

	"github.com/cloudpillar/cloudpillar/agent/update"
	"github.com/cloudpillar/cloudpillar/agent/update/updatetest"
)

// The lab update keys (cloudpillar pki update-keys --out DIR):
//
//	DIR/roots.json        the root set agents build in (public; update.ParseRoots)
//	DIR/root-key.jwk      the root's private key (0600): certifies signing keys, signs rotations
//	DIR/signing-key.jwk   the manifest signing key's private key (0600)
//	DIR/signing-key.sjwk  its public key signed by the root (the JWS "sjwk" header)
const (
	defaultUpdateKeysDir = "./updatekeys"
	rootsFile            = "roots.json"
	rootKeyFile          = "root-key.jwk"
	signingKeyFile       = "signing-key.jwk"
	signingSJWKFile      = "signing-key.sjwk"
)

// runPKIUpdateKeys implements `cloudpillar pki update-keys`: a lab root
// key and a manifest signing key it certifies (ES256, P-256).
func runPKIUpdateKeys(args []string, stdout, stderr io.Writer) error {
	flags := flag.NewFlagSet("pki update-keys", flag.ContinueOnError)
	flags.SetOutput(stderr)
	out := flags.String("out", defaultUpdateKeysDir, "output `DIR` for roots.json and the private keys")
	force := flags.Bool("force", false, "overwrite existing keys")
	if help, err := parseCommandFlags(flags, args, "pki update-keys"); help || err != nil {
		return err
	}
	if _, err := os.Stat(filepath.Join(*out, rootsFile)); err == nil && !*force {
		return fmt.Errorf("%w: pki update-keys: %s already holds update keys (use --force to replace them)", errUsage, *out)
	}
	if err := writeUpdateKeys(*out); err != nil {
		return fmt.Errorf("pki update-keys: %w", err)
	}
	fmt.Fprintf(stdout, "update keys: %s (give agents %s; keep the .jwk files secret)\n", *out, filepath.Join(*out, rootsFile))
	return nil
}

func writeUpdateKeys(dir string) error {
	root, err := updatetest.NewKey("lab-root-1")
	if err != nil {
		return err
	}
	signer, err := updatetest.NewSigningKey("lab-signing-1", root)
	if err != nil {
		return err
	}
	roots, err := updatetest.RootSet{Version: 1, Keys: []*updatetest.Key{root}}.JSON()
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	rootJWK, err := json.Marshal(root.Private())
	if err != nil {
		return err
	}
	signJWK, err := json.Marshal(signer.Private())
	if err != nil {
		return err
	}
	files := []struct {
		name string
		data []byte
		perm fs.FileMode
	}{
		{rootsFile, roots, 0o644},
		{rootKeyFile, rootJWK, 0o600},
		{signingKeyFile, signJWK, 0o600},
		{signingSJWKFile, []byte(signer.SJWK), 0o644},
	}
	for _, f := range files {
		if err := os.WriteFile(filepath.Join(dir, f.name), f.data, f.perm); err != nil {
			return err
		}
	}
	return nil
}

// labSigner is a manifest signing key loaded from an update-keys directory.
type labSigner struct {
	key  jose.JSONWebKey // private, with its kid
	sjwk string
}

func loadLabSigner(dir string) (*labSigner, error) {
	raw, err := os.ReadFile(filepath.Join(dir, signingKeyFile))
	if err != nil {
		return nil, fmt.Errorf("signing key: %w (create keys with `cloudpillar pki update-keys --out %s`)", err, dir)
	}
	var s labSigner
	if err := json.Unmarshal(raw, &s.key); err != nil {
		return nil, fmt.Errorf("signing key %s: %w", filepath.Join(dir, signingKeyFile), err)
	}
	if s.key.IsPublic() {
		return nil, fmt.Errorf("signing key %s holds no private key", filepath.Join(dir, signingKeyFile))
	}
	sjwk, err := os.ReadFile(filepath.Join(dir, signingSJWKFile))
	if err != nil {
		return nil, fmt.Errorf("signing key certificate: %w", err)
	}
	s.sjwk = string(sjwk)
	return &s, nil
}

// signManifest returns ADU's updateManifestSignature for the exact bytes
// of manifest: a JWS over {"sha256": base64(SHA-256)} with the sjwk header.
func (s *labSigner) signManifest(manifest []byte) (string, error) {
	payload, err := json.Marshal(update.SignaturePayload{SHA256: sha256Base64(manifest)})
	if err != nil {
		return "", err
	}
	opts := &jose.SignerOptions{ExtraHeaders: map[jose.HeaderKey]any{update.HeaderSJWK: s.sjwk}}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: s.key}, opts)
	if err != nil {
		return "", fmt.Errorf("signer: %w", err)
	}
	obj, err := signer.Sign(payload)
	if err != nil {
		return "", err
	}
	return obj.CompactSerialize()
}

// loadLabRoots reads DIR/roots.json.
func loadLabRoots(dir string) (update.Roots, error) {
	raw, err := os.ReadFile(filepath.Join(dir, rootsFile))
	if err != nil {
		return update.Roots{}, err
	}
	r, err := update.ParseRoots(raw)
	if err != nil {
		return update.Roots{}, errors.Join(fmt.Errorf("roots %s", filepath.Join(dir, rootsFile)), err)
	}
	return r, nil
}
