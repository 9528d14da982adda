package update_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/cloudpillar/cloudpillar/agent/update"
	"github.com/cloudpillar/cloudpillar/agent/update/updatetest"
	"github.com/go-jose/go-jose/v4"
)

// attack is one case: mutate the manifest before signing, or tamper with
// the signed deployment after, then verify at `at` against `state`.
type attack struct {
	name   string
	mutate func(m *update.Manifest)
	tamper func(t *testing.T, f *fixture, su *update.ServiceUpdate)
	at     time.Time
	state  update.State
	want   update.Reason // 0: accepted
}

func runAttacks(t *testing.T, f *fixture, tests []attack) {
	t.Helper()
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := f.manifest()
			if tc.mutate != nil {
				tc.mutate(&m)
			}
			su := f.deploy(t, m)
			if tc.tamper != nil {
				tc.tamper(t, f, &su)
			}
			at := tc.at
			if at.IsZero() {
				at = now
			}
			got, err := f.verifier.Verify(su, at, tc.state)
			checkReason(t, err, tc.want)
			if tc.want == 0 && (got == nil || got.UpdateID != m.UpdateID) {
				t.Fatalf("Verify returned %+v, want the manifest of %+v", got, m.UpdateID)
			}
		})
	}
}

func checkReason(t *testing.T, err error, want update.Reason) {
	t.Helper()
	if want == 0 {
		if err != nil {
			t.Fatalf("Verify = %v, want accepted", err)
		}
		return
	}
	var ue *update.Error
	if !errors.As(err, &ue) || ue.Reason != want || !errors.Is(err, want) {
		t.Fatalf("Verify = %v, want reason %s", err, want)
	}
}

// TestArbitrarySoftwareIsRejected: only manifests signed through the
// built-in roots are accepted (TUF: arbitrary installation; malicious
// mirrors).
func TestArbitrarySoftwareIsRejected(t *testing.T) {
	f := newFixture(t)
	attacker := must(updatetest.NewKey("root-1")) // claims the trusted kid
	runAttacks(t, f, []attack{
		{name: "valid deployment is accepted"},
		{name: "unsigned manifest", want: update.ReasonMalformedSignature,
			tamper: func(t *testing.T, f *fixture, su *update.ServiceUpdate) { su.UpdateManifestSignature = "" }},
		{name: "garbage signature", want: update.ReasonMalformedSignature,
			tamper: func(t *testing.T, f *fixture, su *update.ServiceUpdate) { su.UpdateManifestSignature = "a.b.c" }},
		{name: "manifest edited after signing", want: update.ReasonManifestMismatch,
			tamper: func(t *testing.T, f *fixture, su *update.ServiceUpdate) {
				su.UpdateManifest = strings.Replace(su.UpdateManifest, `"releaseCounter":7`, `"releaseCounter":8`, 1)
			}},
		{name: "signing key certified by an untrusted root", want: update.ReasonUnknownKey,
			tamper: func(t *testing.T, f *fixture, su *update.ServiceUpdate) {
				other := must(updatetest.NewKey("rogue-root"))
				sk := must(updatetest.NewSigningKey("signing-1", other))
				su.UpdateManifestSignature = must(sk.SignManifest([]byte(su.UpdateManifest)))
			}},
		{name: "sjwk forged under the trusted root's kid", want: update.ReasonBadSignature,
			tamper: func(t *testing.T, f *fixture, su *update.ServiceUpdate) {
				sk := must(updatetest.NewSigningKey("signing-1", attacker))
				su.UpdateManifestSignature = must(sk.SignManifest([]byte(su.UpdateManifest)))
			}},
		{name: "manifest signed by a key other than the certified one", want: update.ReasonBadSignature,
			tamper: func(t *testing.T, f *fixture, su *update.ServiceUpdate) {
				rogue := &updatetest.SigningKey{Key: must(updatetest.NewKey("signing-1")), SJWK: f.signer.SJWK}
				su.UpdateManifestSignature = must(rogue.SignManifest([]byte(su.UpdateManifest)))
			}},
		{name: "kid differs from the certified key", want: update.ReasonUnknownKey,
			tamper: func(t *testing.T, f *fixture, su *update.ServiceUpdate) {
				renamed := &updatetest.SigningKey{Key: &updatetest.Key{}, SJWK: f.signer.SJWK}
				*renamed.Key = *f.signer.Key
				renamed.Key.ID = "signing-2"
				su.UpdateManifestSignature = must(renamed.SignManifest([]byte(su.UpdateManifest)))
			}},
		{name: "key embedded in the header is not trusted", want: update.ReasonMalformedSignature,
			tamper: func(t *testing.T, f *fixture, su *update.ServiceUpdate) {
				su.UpdateManifestSignature = signWithOptions(t, attacker, su.UpdateManifest, (&jose.SignerOptions{EmbedJWK: true}).
					WithHeader(update.HeaderSJWK, f.signer.SJWK))
			}},
		{name: "no sjwk header", want: update.ReasonMalformedSignature,
			tamper: func(t *testing.T, f *fixture, su *update.ServiceUpdate) {
				su.UpdateManifestSignature = signWithOptions(t, f.signer.Key, su.UpdateManifest, nil)
			}},
		{name: "alg none", want: update.ReasonMalformedSignature,
			tamper: func(t *testing.T, f *fixture, su *update.ServiceUpdate) {
				parts := strings.Split(su.UpdateManifestSignature, ".")
				su.UpdateManifestSignature = b64(`{"alg":"none","kid":"signing-1"}`) + "." + parts[1] + "."
			}},
		{name: "HMAC with the public key as secret", want: update.ReasonMalformedSignature,
			tamper: func(t *testing.T, f *fixture, su *update.ServiceUpdate) {
				pub := must(f.signer.Public().MarshalJSON())
				s := must(jose.NewSigner(jose.SigningKey{Algorithm: jose.HS256, Key: pub}, nil))
				obj := must(s.Sign([]byte(su.UpdateManifest)))
				su.UpdateManifestSignature = must(obj.CompactSerialize())
			}},
		{name: "oversized signature", want: update.ReasonOversize,
			tamper: func(t *testing.T, f *fixture, su *update.ServiceUpdate) {
				su.UpdateManifestSignature = strings.Repeat("A", update.MaxSignatureBytes+1)
			}},
		{name: "oversized manifest", want: update.ReasonOversize,
			tamper: func(t *testing.T, f *fixture, su *update.ServiceUpdate) {
				su.UpdateManifest = strings.Repeat(" ", update.MaxManifestBytes+1)
			}},
		{name: "cancel is not verified as a deployment", want: update.ReasonBadAction,
			tamper: func(t *testing.T, f *fixture, su *update.ServiceUpdate) { su.Workflow.Action = update.ActionCancel }},
	})
}

// TestSigningKeyAlgorithms: every supported key type signs and verifies.
func TestSigningKeyAlgorithms(t *testing.T) {
	for _, mk := range []func(id string) (*updatetest.Key, error){
		updatetest.NewKey,
		updatetest.NewEd25519Key,
		func(id string) (*updatetest.Key, error) { return updatetest.NewRSAKey(id, 2048) },
	} {
		root, signing := must(mk("root")), must(mk("signing"))
		roots := must(updatetest.RootSet{Version: 1, Keys: []*updatetest.Key{root}}.Roots())
		v := must(update.NewVerifier(update.Config{Roots: roots, Device: device}))
		sk := must(updatetest.Certify(signing, root))
		f := &fixture{}
		su := must(updatetest.Deployment(f.manifest(), sk, "wf", "https://x"))
		if _, err := v.Verify(su, now, update.State{}); err != nil {
			t.Errorf("%s: Verify = %v", root.Alg, err)
		}
	}
}

// TestDisabledSigningKey: a root set can revoke one signing key without
// rotating the roots (ADU's disabledSigningKeys).
func TestDisabledSigningKey(t *testing.T) {
	f := newFixture(t)
	roots := must(updatetest.RootSet{Version: 1, Keys: []*updatetest.Key{f.root},
		DisabledSigningKeys: []string{f.signer.Thumbprint()}}.Roots())
	v := must(update.NewVerifier(update.Config{Roots: roots, Device: device}))
	_, err := v.Verify(f.deploy(t, f.manifest()), now, update.State{})
	checkReason(t, err, update.ReasonDisabledKey)
}

func signWithOptions(t *testing.T, k *updatetest.Key, manifest string, opts *jose.SignerOptions) string {
	t.Helper()
	s := must(jose.NewSigner(jose.SigningKey{Algorithm: k.Alg, Key: k.Private()}, opts))
	obj := must(s.Sign([]byte(`{"sha256":"` + sha256b64(manifest) + `"}`)))
	return must(obj.CompactSerialize())
}
