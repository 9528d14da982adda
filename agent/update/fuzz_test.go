package update_test

import (
	"strings"
	"testing"

	"github.com/cloudpillar/cloudpillar/agent/update"
)

// FuzzVerify feeds arbitrary manifest and signature text to Verify: it
// must never panic, and it may accept only the manifest that was signed.
func FuzzVerify(f *testing.F) {
	fx := newFixture(f)
	good := fx.deploy(f, fx.manifest())
	f.Add(good.UpdateManifest, good.UpdateManifestSignature)
	f.Add(good.UpdateManifest+" ", good.UpdateManifestSignature)
	f.Add("{}", "e30.e30.")
	f.Add("", "")
	f.Add(`{"updateId":{}}`, strings.Repeat(".", 3))
	f.Fuzz(func(t *testing.T, manifest, sig string) {
		su := good
		su.UpdateManifest, su.UpdateManifestSignature = manifest, sig
		m, err := fx.verifier.Verify(su, now, update.State{})
		if err == nil && manifest != good.UpdateManifest {
			t.Fatalf("accepted a manifest that was never signed: %q", manifest)
		}
		if err != nil && m != nil {
			t.Fatal("returned a manifest with an error")
		}
	})
}

// FuzzSignedManifest signs arbitrary manifest text with a trusted key, so
// the fuzzer reaches the manifest checks: whatever is accepted must hold
// the invariants the installer relies on.
func FuzzSignedManifest(f *testing.F) {
	fx := newFixture(f)
	good := fx.deploy(f, fx.manifest())
	f.Add(good.UpdateManifest)
	f.Add(strings.Replace(good.UpdateManifest, `"rootfs.img"`, `"../x"`, 1))
	f.Add(`{"files":[{"name":"a","sizeInBytes":1e30}]}`)
	f.Fuzz(func(t *testing.T, manifest string) {
		su := fx.signRaw(t, manifest)
		su.FileURLs = map[string]string{imageKey: "https://x/rootfs.img"}
		m, err := fx.verifier.Verify(su, now, update.State{})
		if err != nil {
			return
		}
		if m.ReleaseCounter == 0 || !now.Before(m.Expires) || len(m.Files) != 1 || m.Files[0].URLKey() != imageKey {
			t.Fatalf("accepted manifest breaks invariants: %+v", m)
		}
		if f := m.Files[0]; f.SizeInBytes <= 0 || f.SizeInBytes > update.HardMaxFileBytes {
			t.Fatalf("accepted file size %d", f.SizeInBytes)
		}
		if _, err := m.Files[0].SHA256Sum(); err != nil {
			t.Fatalf("accepted file without a usable hash: %v", err)
		}
	})
}

// FuzzParseRoots: root set parsing never panics and accepts only sets
// with a version and keys.
func FuzzParseRoots(f *testing.F) {
	fx := newFixture(f)
	f.Add(fx.rootsJSON)
	f.Add([]byte(`{"version":1,"threshold":1,"keys":[{"kty":"oct","k":"AA","kid":"x"}]}`))
	f.Add([]byte(`{"version":1,"threshold":1,"keys":[{"kty":"EC","crv":"P-256","x":"","y":"","kid":"x"}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := update.ParseRoots(data)
		if err == nil && (r.Version() == 0 || len(r.KeyIDs()) == 0) {
			t.Fatalf("accepted roots without version or keys: %q", data)
		}
	})
}
