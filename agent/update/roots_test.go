package update_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/cloudpillar/cloudpillar/agent/update"
	"github.com/cloudpillar/cloudpillar/agent/update/updatetest"
	"github.com/go-jose/go-jose/v4"
)

// rootsDoc builds root set JSON by hand, for malformed sets.
func rootsDoc(version uint64, threshold int, keys ...jose.JSONWebKey) []byte {
	return must(json.Marshal(map[string]any{"version": version, "threshold": threshold, "keys": keys}))
}

// TestParseRoots: the built-in root set is checked as strictly as a
// rotated one.
func TestParseRoots(t *testing.T) {
	a, b := must(updatetest.NewKey("a")), must(updatetest.NewKey("b"))
	small := must(updatetest.NewRSAKey("small", 1024))
	sameAsA := a.Public()
	sameAsA.KeyID = "a-again"
	wrongAlg := a.Public()
	wrongAlg.Algorithm = "RS256"
	encUse := a.Public()
	encUse.Use = "enc"
	tests := []struct {
		name string
		doc  []byte
		want update.Reason // 0: valid
	}{
		{"one key", rootsDoc(1, 1, a.Public()), 0},
		{"two keys", rootsDoc(3, 1, a.Public(), b.Public()), 0},
		{"version zero", rootsDoc(0, 1, a.Public()), update.ReasonMalformedRoots},
		{"threshold two not supported yet", rootsDoc(1, 2, a.Public(), b.Public()), update.ReasonMalformedRoots},
		{"threshold zero", rootsDoc(1, 0, a.Public()), update.ReasonMalformedRoots},
		{"no keys", rootsDoc(1, 1), update.ReasonMalformedRoots},
		{"private key", rootsDoc(1, 1, a.Private()), update.ReasonMalformedRoots},
		{"symmetric key", rootsDoc(1, 1, jose.JSONWebKey{Key: []byte("secret"), KeyID: "s"}), update.ReasonMalformedRoots},
		{"RSA below 2048 bits", rootsDoc(1, 1, small.Public()), update.ReasonMalformedRoots},
		{"duplicate kid", rootsDoc(1, 1, a.Public(), a.Public()), update.ReasonMalformedRoots},
		{"same key under two kids", rootsDoc(1, 1, a.Public(), sameAsA), update.ReasonMalformedRoots},
		{"alg does not fit key", rootsDoc(1, 1, wrongAlg), update.ReasonMalformedRoots},
		{"encryption key", rootsDoc(1, 1, encUse), update.ReasonMalformedRoots},
		{"unknown field", []byte(`{"version":1,"threshold":1,"keys":[],"trustAll":true}`), update.ReasonMalformedRoots},
		{"bad disabled thumbprint", []byte(strings.Replace(string(rootsDoc(1, 1, a.Public())), `"threshold"`, `"disabledSigningKeys":["xyz"],"threshold"`, 1)), update.ReasonMalformedRoots},
		{"oversized", []byte(strings.Repeat(" ", update.MaxRootsBytes+1)), update.ReasonOversize},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, err := update.ParseRoots(tc.doc)
			if tc.want == 0 {
				if err != nil || r.Version() == 0 || string(r.JSON()) != string(tc.doc) {
					t.Fatalf("ParseRoots = %v, %v; want valid", r.KeyIDs(), err)
				}
				return
			}
			checkReason(t, err, tc.want)
		})
	}
}

// TestRootRotation: a new root set needs a strictly higher version and
// signatures by the current roots and by its own keys (TUF §5.3.4); an
// older root set cannot be replayed.
func TestRootRotation(t *testing.T) {
	old, next := must(updatetest.NewKey("root-1")), must(updatetest.NewKey("root-2"))
	attacker := must(updatetest.NewKey("root-1")) // claims the trusted kid
	signing := must(updatetest.NewSigningKey("signing-1", old))
	current := must(updatetest.RootSet{Version: 2, Keys: []*updatetest.Key{old}}.Roots())
	v3 := must(updatetest.RootSet{Version: 3, Keys: []*updatetest.Key{next}}.JSON())
	v2 := must(updatetest.RootSet{Version: 2, Keys: []*updatetest.Key{next}}.JSON())
	v1 := must(updatetest.RootSet{Version: 1, Keys: []*updatetest.Key{next}}.JSON())
	sign := func(doc []byte, keys ...*updatetest.Key) []string { return must(updatetest.SignRotation(doc, keys...)) }
	tests := []struct {
		name string
		doc  []byte
		sigs []string
		want update.Reason
	}{
		{"signed by old and new roots", v3, sign(v3, old, next), 0},
		{"order of signatures does not matter", v3, sign(v3, next, old), 0},
		{"ignores junk among the signatures", v3, append([]string{"junk", "a..b"}, sign(v3, old, next)...), 0},
		{"replay of an older root set", v1, sign(v1, old, next), update.ReasonRootRollback},
		{"same version", v2, sign(v2, old, next), update.ReasonRootRollback},
		{"signed by the new keys only", v3, sign(v3, next), update.ReasonRootSignature},
		{"signed by the old keys only", v3, sign(v3, old), update.ReasonRootSignature},
		{"signed by a forger using the root kid", v3, sign(v3, attacker, next), update.ReasonRootSignature},
		{"signed by a signing key, not a root", v3, sign(v3, signing.Key, next), update.ReasonRootSignature},
		{"signatures over other bytes", v3, sign(append([]byte(" "), v3...), old, next), update.ReasonRootSignature},
		{"unsigned", v3, nil, update.ReasonRootSignature},
		{"too many signatures", v3, append(sign(v3, old, next), make([]string, update.MaxRotationSignatures)...), update.ReasonRootSignature},
		{"malformed new set", []byte(`{}`), nil, update.ReasonMalformedRoots},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := current.Rotate(tc.doc, tc.sigs)
			if tc.want == 0 {
				if err != nil || got.Version() != 3 || strings.Join(got.KeyIDs(), ",") != "root-2" {
					t.Fatalf("Rotate = v%d %v, %v; want v3 [root-2]", got.Version(), got.KeyIDs(), err)
				}
				return
			}
			checkReason(t, err, tc.want)
		})
	}
}

// TestKeyCompromiseRecoveredByRotation: after the roots rotate away from a
// compromised root key, everything chained to it is refused and the new
// chain is accepted (TUF: key compromise).
func TestKeyCompromiseRecoveredByRotation(t *testing.T) {
	f := newFixture(t)
	next := must(updatetest.NewKey("root-2"))
	doc := must(updatetest.RootSet{Version: 2, Keys: []*updatetest.Key{next}}.JSON())
	rotated := must(f.roots.Rotate(doc, must(updatetest.SignRotation(doc, f.root, next))))
	v := must(update.NewVerifier(update.Config{Roots: rotated, Device: device}))

	// The attacker holds the compromised root-1 and mints a signing key.
	stolen := must(updatetest.NewSigningKey("signing-evil", f.root))
	_, err := v.Verify(must(updatetest.Deployment(f.manifest(), stolen, "wf", "https://x")), now, update.State{})
	checkReason(t, err, update.ReasonUnknownKey)
	// The old legitimate signing key went with its root.
	_, err = v.Verify(f.deploy(t, f.manifest()), now, update.State{})
	checkReason(t, err, update.ReasonUnknownKey)
	// The compromised key cannot rotate the roots back either.
	evil := must(updatetest.RootSet{Version: 3, Keys: []*updatetest.Key{f.root}}.JSON())
	_, err = rotated.Rotate(evil, must(updatetest.SignRotation(evil, f.root)))
	checkReason(t, err, update.ReasonRootSignature)
	// A signing key certified by the new root works.
	fresh := must(updatetest.NewSigningKey("signing-2", next))
	if _, err := v.Verify(must(updatetest.Deployment(f.manifest(), fresh, "wf", "https://x")), now, update.State{}); err != nil {
		t.Fatalf("Verify with the new chain = %v", err)
	}
}
