package update_test

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/cloudpillar/cloudpillar/agent/update"
	"github.com/cloudpillar/cloudpillar/agent/update/updatetest"
)

func b64(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }

func sha256b64(s string) string {
	sum := sha256.Sum256([]byte(s))
	return base64.StdEncoding.EncodeToString(sum[:])
}

// TestRollbackAndFreeze: the release counter must rise on its line unless
// a signed manifest says downgrade; expired metadata is refused (TUF:
// rollback, indefinite freeze; FDA: no downgrade except a logged path).
func TestRollbackAndFreeze(t *testing.T) {
	f := newFixture(t)
	expires := f.manifest().Expires
	runAttacks(t, f, []attack{
		{name: "newer release on the line is accepted", state: installed(6)},
		{name: "first install on a line is accepted", state: update.State{}},
		{name: "older release is a rollback", state: installed(9), want: update.ReasonRollback},
		{name: "same release is a rollback", state: installed(7), want: update.ReasonRollback},
		{name: "signed downgrade is accepted", state: installed(9),
			mutate: func(m *update.Manifest) { m.Downgrade = true }},
		{name: "unsigned downgrade flag is a mismatch", state: installed(9), want: update.ReasonManifestMismatch,
			tamper: func(t *testing.T, f *fixture, su *update.ServiceUpdate) {
				su.UpdateManifest = strings.Replace(su.UpdateManifest, `}]}`, `}],"downgrade":true}`, 1)
			}},
		{name: "expired manifest is a freeze", at: expires.Add(time.Second), want: update.ReasonExpired},
		{name: "manifest expiring now is expired", at: expires, want: update.ReasonExpired},
		{name: "manifest one second before expiry is fresh", at: expires.Add(-time.Second)},
	})
}

// TestSignedDowngradeIsFlagged: an accepted downgrade says so in its
// provenance, so the caller logs and audits it.
func TestSignedDowngradeIsFlagged(t *testing.T) {
	f := newFixture(t)
	tests := []struct {
		name      string
		downgrade bool
		installed uint64
		flagged   bool
	}{
		{"downgrade below installed", true, 9, true},
		{"downgrade flag on a newer release", true, 3, false},
		{"ordinary upgrade", false, 3, false},
	}
	for _, tc := range tests {
		m := f.manifest()
		m.Downgrade = tc.downgrade
		got, err := f.verifier.Verify(f.deploy(t, m), now, installed(tc.installed))
		if err != nil {
			t.Fatalf("%s: Verify = %v", tc.name, err)
		}
		p := got.Provenance
		if p.IsDowngrade != tc.flagged || p.InstalledCounter != tc.installed || p.SigningKeyID != "signing-1" ||
			p.RootKeyID != "root-1" || p.SigningKeyThumbprint != f.signer.Thumbprint() {
			t.Errorf("%s: Provenance = %+v, want downgrade=%v installed=%d", tc.name, p, tc.flagged, tc.installed)
		}
	}
}

// TestWrongSoftwareAndMixAndMatch: a manifest for another device, or a
// signature and files from another update, are refused (TUF: wrong
// software, mix-and-match, extraneous dependencies; Uptane hardware id).
func TestWrongSoftwareAndMixAndMatch(t *testing.T) {
	f := newFixture(t)
	other := f.manifest()
	other.UpdateID.Version, other.ReleaseCounter = "1.0.3", 3
	runAttacks(t, f, []attack{
		{name: "wrong model", want: update.ReasonIncompatible,
			mutate: func(m *update.Manifest) { m.Compatibility[0].Model = "CARTO 4" }},
		{name: "wrong hardware id", want: update.ReasonIncompatible,
			mutate: func(m *update.Manifest) { m.Compatibility[0].HardwareID = "c3-v7-rev1" }},
		{name: "wrong manufacturer", want: update.ReasonIncompatible,
			mutate: func(m *update.Manifest) { m.Compatibility[0].Manufacturer = "Other" }},
		{name: "one of several entries matches", mutate: func(m *update.Manifest) {
			m.Compatibility = append([]update.Compatibility{{Manufacturer: "x", Model: "y", HardwareID: "z"}}, m.Compatibility...)
		}},
		{name: "signature of another update", want: update.ReasonManifestMismatch,
			tamper: func(t *testing.T, f *fixture, su *update.ServiceUpdate) {
				su.UpdateManifestSignature = f.deploy(t, other).UpdateManifestSignature
			}},
		{name: "URL for a file the manifest does not list", want: update.ReasonFileURLMismatch,
			tamper: func(t *testing.T, f *fixture, su *update.ServiceUpdate) { su.FileURLs["payload.sh"] = "https://evil/x" }},
		{name: "file without URL", want: update.ReasonFileURLMismatch,
			tamper: func(t *testing.T, f *fixture, su *update.ServiceUpdate) { delete(su.FileURLs, imageKey) }},
	})
}

// TestFileEntriesAndCaps: every file needs a size and a SHA-256, a safe
// name, and a size under the caps (TUF: endless data).
func TestFileEntriesAndCaps(t *testing.T) {
	f := newFixture(t)
	withFile := func(fe update.FileEntry) func(m *update.Manifest) {
		return func(m *update.Manifest) { m.Files = append(m.Files, fe) }
	}
	good := updatetest.File("boot.img", []byte("boot"))
	named := func(n string) update.FileEntry { g := good; g.Name, g.ID = n, ""; return g }
	runAttacks(t, f, []attack{
		{name: "two files", mutate: withFile(good)},
		{name: "file without size", want: update.ReasonBadFileEntry,
			mutate: withFile(update.FileEntry{Name: "a", Hashes: good.Hashes})},
		{name: "file with negative size", want: update.ReasonBadFileEntry,
			mutate: withFile(update.FileEntry{Name: "a", SizeInBytes: -1, Hashes: good.Hashes})},
		{name: "file without sha256", want: update.ReasonBadFileEntry,
			mutate: withFile(update.FileEntry{Name: "a", SizeInBytes: 4})},
		{name: "sha256 of the wrong length", want: update.ReasonBadFileEntry,
			mutate: withFile(update.FileEntry{Name: "a", SizeInBytes: 4, Hashes: update.Hashes{SHA256: "AAAA"}})},
		{name: "sha256 in hex", want: update.ReasonBadFileEntry,
			mutate: withFile(update.FileEntry{Name: "a", SizeInBytes: 4, Hashes: update.Hashes{SHA256: strings.Repeat("ab", 32)}})},
		{name: "path traversal", want: update.ReasonBadFileEntry, mutate: withFile(named("../../etc/passwd"))},
		{name: "windows path", want: update.ReasonBadFileEntry, mutate: withFile(named(`C:\Windows\x.dll`))},
		{name: "windows device name", want: update.ReasonBadFileEntry, mutate: withFile(named("nul.txt"))},
		{name: "dot dot", want: update.ReasonBadFileEntry, mutate: withFile(named(".."))},
		{name: "trailing dot", want: update.ReasonBadFileEntry, mutate: withFile(named("a."))},
		{name: "control character", want: update.ReasonBadFileEntry, mutate: withFile(named("a\nb"))},
		{name: "duplicate name differing in case", want: update.ReasonBadFileEntry, mutate: withFile(named("ROOTFS.IMG"))},
		{name: "file id a twin cannot carry", want: update.ReasonBadFileEntry,
			mutate: func(m *update.Manifest) { m.Files[0].ID = "rootfs.img" }},
		{name: "two files under one id", want: update.ReasonBadFileEntry,
			mutate: func(m *update.Manifest) { g := good; g.ID = m.Files[0].ID; m.Files = append(m.Files, g) }},
		{name: "an id equal to another file's name", want: update.ReasonBadFileEntry,
			mutate: func(m *update.Manifest) { m.Files[0].ID = "a"; m.Files = append(m.Files, named("a")) }},
		{name: "no files", want: update.ReasonBadFileEntry, mutate: func(m *update.Manifest) { m.Files = nil }},
		{name: "too many files", want: update.ReasonBadFileEntry, mutate: func(m *update.Manifest) {
			for i := range update.MaxFiles {
				m.Files = append(m.Files, named("f"+strings.Repeat("x", i)))
			}
		}},
		{name: "file above the hard cap", want: update.ReasonFileTooLarge,
			mutate: func(m *update.Manifest) { m.Files[0].SizeInBytes = update.HardMaxFileBytes + 1 }},
		{name: "total above the hard cap", want: update.ReasonFileTooLarge, mutate: func(m *update.Manifest) {
			for _, n := range []string{"a", "b", "c"} {
				fe := named(n)
				fe.SizeInBytes = update.HardMaxFileBytes
				m.Files = append(m.Files, fe)
			}
		}},
	})
}

// TestConfiguredCapsOnlyLower: configuration lowers the size caps but
// cannot raise them above the hard caps.
func TestConfiguredCapsOnlyLower(t *testing.T) {
	f := newFixture(t)
	tests := []struct {
		name     string
		maxFile  int64
		maxTotal int64
		size     int64
		want     update.Reason
	}{
		{"under a lowered cap", 1 << 20, 0, 1 << 20, 0},
		{"over a lowered file cap", 1 << 20, 0, 1<<20 + 1, update.ReasonFileTooLarge},
		{"over a lowered total cap", 0, 1 << 20, 1<<20 + 1, update.ReasonFileTooLarge},
		{"raised file cap stays hard", 1 << 40, 1 << 40, update.HardMaxFileBytes + 1, update.ReasonFileTooLarge},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v := must(update.NewVerifier(update.Config{Roots: f.roots, Device: device, MaxFileBytes: tc.maxFile, MaxTotalBytes: tc.maxTotal}))
			m := f.manifest()
			m.Files[0].SizeInBytes = tc.size
			_, err := v.Verify(f.deploy(t, m), now, update.State{})
			checkReason(t, err, tc.want)
		})
	}
}

// TestMalformedManifest: signed but malformed manifests are refused
// rather than half-read.
func TestMalformedManifest(t *testing.T) {
	f := newFixture(t)
	good := f.deploy(t, f.manifest()).UpdateManifest
	rawOf := func(mutate func(m *update.Manifest)) string {
		m := f.manifest()
		mutate(&m)
		return string(must(json.Marshal(m)))
	}
	tests := []struct {
		name string
		raw  string
		want update.Reason
	}{
		{"not JSON", "not json", update.ReasonMalformedManifest},
		{"unknown field", strings.Replace(good, `{"updateId"`, `{"install":"rm -rf /","updateId"`, 1), update.ReasonMalformedManifest},
		{"trailing data", good + `{}`, update.ReasonMalformedManifest},
		{"missing expiry", strings.Replace(good, `"expires":"2026-07-01T10:00:00Z",`, ``, 1), update.ReasonMalformedManifest},
		{"zero release counter", strings.Replace(good, `"releaseCounter":7`, `"releaseCounter":0`, 1), update.ReasonMalformedManifest},
		{"negative release counter", strings.Replace(good, `"releaseCounter":7`, `"releaseCounter":-7`, 1), update.ReasonMalformedManifest},
		{"empty line", strings.Replace(good, `"line":"carto3-v7"`, `"line":""`, 1), update.ReasonMalformedManifest},
		{"no compatibility", rawOf(func(m *update.Manifest) { m.Compatibility = nil }), update.ReasonMalformedManifest},
		{"too many compatibility entries", rawOf(func(m *update.Manifest) {
			for range update.MaxCompatibility {
				m.Compatibility = append(m.Compatibility, carto)
			}
		}), update.ReasonMalformedManifest},
		{"over-long line", rawOf(func(m *update.Manifest) { m.Line = strings.Repeat("l", 65) }), update.ReasonMalformedManifest},
		{"compatibility without hardware id", strings.Replace(good, `"hardwareId":"c3-v7-rev2"`, `"hardwareId":""`, 1), update.ReasonMalformedManifest},
		{"no version", strings.Replace(good, `"version":"1.0.7"`, `"version":""`, 1), update.ReasonMalformedManifest},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.raw == good {
				t.Fatal("replacement did not apply; the test would prove nothing")
			}
			_, err := f.verifier.Verify(f.signRaw(t, tc.raw), now, update.State{})
			checkReason(t, err, tc.want)
		})
	}
}

// TestRejectionCodesForADU: reasons become ADU extendedResultCodes with
// our facility and component, and a failure lastInstallResult.
func TestRejectionCodesForADU(t *testing.T) {
	tests := []struct {
		reason update.Reason
		code   uint32
		name   string
	}{
		{update.ReasonBadAction, 0xC0100001, "bad-action"},
		{update.ReasonRollback, 0xC010000A, "rollback"},
		{update.ReasonFileHash, 0xC0100013, "file-hash"},
		{update.Reason(99), 0xC0100063, "reason(99)"},
	}
	for _, tc := range tests {
		if got := uint32(tc.reason.ExtendedResultCode()); got != tc.code || tc.reason.String() != tc.name {
			t.Errorf("%d: code %#x name %q, want %#x %q", int(tc.reason), got, tc.reason, tc.code, tc.name)
		}
	}
	f := newFixture(t)
	_, err := f.verifier.Verify(f.deploy(t, f.manifest()), now, installed(9))
	ue, ok := err.(*update.Error)
	if !ok {
		t.Fatalf("Verify = %T %v, want *update.Error", err, err)
	}
	r := ue.InstallResult()
	if r.ResultCode != update.ResultFailure || uint32(r.ExtendedResultCode) != 0xC010000A ||
		r.ResultDetails != `update: rollback: release counter 7 on line "carto3-v7" is not above the installed 9` {
		t.Errorf("InstallResult = %+v", r)
	}
}

func TestInstalledUpdateIDForADU(t *testing.T) {
	id := update.UpdateID{Provider: "Cloud Pillar", Name: "carto3", Version: "7.1.0"}
	if got, want := id.ADUString(), `{"provider":"Cloud Pillar","name":"carto3","version":"7.1.0"}`; got != want {
		t.Errorf("ADUString() = %s, want %s", got, want)
	}
}

func TestNewVerifierNeedsRootsAndDevice(t *testing.T) {
	f := newFixture(t)
	for _, cfg := range []update.Config{
		{Device: device},
		{Roots: f.roots, Device: update.Device{Manufacturer: "m", Model: "x"}},
	} {
		if _, err := update.NewVerifier(cfg); err == nil {
			t.Errorf("NewVerifier(%+v) succeeded", cfg.Device)
		}
	}
}
