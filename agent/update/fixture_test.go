package update_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/cloudpillar/cloudpillar/agent/update"
	"github.com/cloudpillar/cloudpillar/agent/update/updatetest"
)

var (
	now    = time.Date(2026, 6, 1, 10, 0, 0, 0, time.UTC)
	carto  = update.Compatibility{Manufacturer: "Biosense Webster", Model: "CARTO 3", HardwareID: "c3-v7-rev2"}
	device = update.Device{Manufacturer: carto.Manufacturer, Model: carto.Model, HardwareID: carto.HardwareID}
	line   = "carto3-v7"
	image  = []byte("slot image bytes")
)

// fixture is one trust setup with keys generated at test time.
type fixture struct {
	root      *updatetest.Key
	rootsJSON []byte
	roots     update.Roots
	signer    *updatetest.SigningKey
	verifier  *update.Verifier
}

// must unwraps a setup result; setup failures (key generation, signing)
// are not what these tests test, so they panic, which fails the test with
// a stack.
func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

func newFixture(tb testing.TB) *fixture {
	tb.Helper()
	f := &fixture{root: must(updatetest.NewKey("root-1"))}
	f.rootsJSON = must(updatetest.RootSet{Version: 1, Keys: []*updatetest.Key{f.root}}.JSON())
	f.roots = must(update.ParseRoots(f.rootsJSON))
	f.signer = must(updatetest.NewSigningKey("signing-1", f.root))
	f.verifier = must(update.NewVerifier(update.Config{Roots: f.roots, Device: device}))
	return f
}

// manifest is a valid manifest for the fixture's device.
func (f *fixture) manifest() update.Manifest {
	return updatetest.Manifest(carto, line, 7, now.Add(30*24*time.Hour), updatetest.File("rootfs.img", image))
}

func (f *fixture) deploy(tb testing.TB, m update.Manifest) update.ServiceUpdate {
	tb.Helper()
	return must(updatetest.Deployment(m, f.signer, "wf-1", "https://blob.example/updates"))
}

// imageKey is the fileUrls key of the fixture's file (its id).
var imageKey = updatetest.File("rootfs.img", image).URLKey()

// signRaw deploys manifest text as given, signed by the fixture's key,
// with a URL for each file it lists (or for "rootfs.img" if it lists none
// that parse).
func (f *fixture) signRaw(tb testing.TB, raw string) update.ServiceUpdate {
	tb.Helper()
	urls := map[string]string{}
	var m update.Manifest
	if json.Unmarshal([]byte(raw), &m) == nil {
		for _, fe := range m.Files {
			urls[fe.URLKey()] = "https://blob.example/updates/" + fe.Name
		}
	}
	if len(urls) == 0 {
		urls["rootfs.img"] = "https://blob.example/updates/rootfs.img"
	}
	return update.ServiceUpdate{
		Workflow:                update.Workflow{Action: update.ActionApply, ID: "wf-raw"},
		UpdateManifest:          raw,
		UpdateManifestSignature: must(f.signer.SignManifest([]byte(raw))),
		FileURLs:                urls,
	}
}

func installed(counter uint64) update.State {
	return update.State{Counters: map[string]uint64{line: counter}}
}
