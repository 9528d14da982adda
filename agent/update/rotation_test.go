package update_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/cloudpillar/cloudpillar/agent/update"
	"github.com/cloudpillar/cloudpillar/agent/update/updatetest"
	cartodev "github.com/cloudpillar/cloudpillar/devsim/carto"
	"github.com/cloudpillar/cloudpillar/devsim/updatesrv"
)

// publishPackage serves a root key package and returns its URL.
func (r *mgrRig) publishPackage(name string, pkg []byte) string {
	r.srv.Publish(name, pkg)
	return r.srv.URL() + "/" + name
}

// TestRootRotationFromADeploymentIsPersistedAndSurvivesARestart: a
// deployment names a root key package signed by the current and the new
// root keys; the manifest, signed under the new root, installs; after a
// restart the rotated roots are still in force (the old root no longer
// is), and a second rotation chains on the first (TUF §5.3.4).
func TestRootRotationFromADeploymentIsPersistedAndSurvivesARestart(t *testing.T) {
	r := newMgrRig(t)
	r.boot(nil)
	root2, root3 := must(updatetest.NewKey("root-2")), must(updatetest.NewKey("root-3"))
	signer2 := must(updatetest.NewSigningKey("signing-2", root2))
	pkg2 := r.publishPackage("roots-v2.json", must(updatetest.RotationPackage(
		updatetest.RootSet{Version: 2, Keys: []*updatetest.Key{root2}}, r.fix.root, root2)))

	r.deploySigned("wf-1", "7.3.0", 8, signer2, nil, pkg2)
	rec := r.waitPhase(update.PhaseCommitted, settle)
	r.checkConsistent(rec)
	if v := r.mgr.Roots().Version(); v != 2 {
		t.Fatalf("roots in force v%d after the rotation, want v2", v)
	}
	rot := r.audits.want(t, update.AuditRootsRotated, "")
	if rot.Details["fromVersion"] != uint64(1) || rot.Details["toVersion"] != uint64(2) {
		t.Errorf("rotation audit = %+v", rot)
	}

	if err := r.halt(); err != nil {
		t.Fatal(err)
	}
	r.boot(nil)
	if v, p := r.mgr.Roots().Version(), r.mgr.RootsProblem(); v != 2 || p != "" {
		t.Fatalf("after a restart: roots v%d, problem %q; want v2 and none", v, p)
	}
	// The same package again (the service sends it with every deployment)
	// changes nothing; the old chain is refused.
	r.deploySigned("wf-2", "7.4.0", 9, r.fix.signer, nil, pkg2)
	rec = r.waitPhase(update.PhaseFailed, settle)
	if rec.Workflow.ID != "wf-2" || rec.Result.ExtendedResultCode != update.ReasonUnknownKey.ExtendedResultCode() {
		t.Fatalf("deployment signed under the retired root: %s %+v, want unknown-key", rec.Workflow.ID, rec.Result)
	}
	pkg3 := r.publishPackage("roots-v3.json", must(updatetest.RotationPackage(
		updatetest.RootSet{Version: 3, Keys: []*updatetest.Key{root3}}, root2, root3)))
	r.deploySigned("wf-3", "7.4.0", 9, must(updatetest.NewSigningKey("signing-3", root3)), nil, pkg3)
	r.waitPhase(update.PhaseCommitted, settle)

	if err := r.halt(); err != nil {
		t.Fatal(err)
	}
	r.boot(nil)
	if v := r.mgr.Roots().Version(); v != 3 {
		t.Fatalf("after a second restart: roots v%d, want v3 (both rotations replayed)", v)
	}
}

// TestRootKeyPackageThatFailsRejectsTheDeployment: a package that is
// replayed, not signed by the roots in force, oversized, malformed or
// unreachable leaves the roots as they were and fails the deployment with
// a result code that names the cause; nothing is downloaded or installed.
func TestRootKeyPackageThatFailsRejectsTheDeployment(t *testing.T) {
	root2 := must(updatetest.NewKey("root-2"))
	v2 := updatetest.RootSet{Version: 2, Keys: []*updatetest.Key{root2}}
	v2JSON := must(v2.JSON())
	tests := []struct {
		name  string
		pkg   func(f *fixture) []byte // nil: not published (404)
		fault *updatesrv.Fault
		want  update.Reason
	}{
		{"older root set replayed", func(f *fixture) []byte {
			return must(updatetest.RotationPackage(updatetest.RootSet{Version: 1, Keys: []*updatetest.Key{root2}}, f.root, root2))
		}, nil, update.ReasonRootRollback},
		{"not signed by the roots in force", func(*fixture) []byte {
			return must(updatetest.RotationPackage(v2, root2))
		}, nil, update.ReasonRootSignature},
		{"signed by a forger using the root's kid", func(*fixture) []byte {
			return must(updatetest.RotationPackage(v2, must(updatetest.NewKey("root-1")), root2))
		}, nil, update.ReasonRootSignature},
		{"signatures over re-formatted bytes", func(f *fixture) []byte {
			sigs := must(updatetest.SignRotation(v2JSON, f.root, root2))
			var pretty bytes.Buffer
			if err := json.Indent(&pretty, v2JSON, "", "  "); err != nil {
				panic(err)
			}
			return must(updatetest.RootPackage(pretty.Bytes(), sigs))
		}, nil, update.ReasonRootSignature},
		{"oversize", func(f *fixture) []byte {
			pkg := must(updatetest.RotationPackage(v2, f.root, root2))
			return append(pkg, bytes.Repeat([]byte(" "), update.MaxRootPackageBytes)...)
		}, nil, update.ReasonOversize},
		{"endless", func(f *fixture) []byte { return must(updatetest.RotationPackage(v2, f.root, root2)) },
			&updatesrv.Fault{Endless: true}, update.ReasonOversize},
		{"malformed root set", func(*fixture) []byte { return []byte(`{"roots":{"version":2},"signatures":[]}`) }, nil, update.ReasonMalformedRoots},
		{"not a package", func(*fixture) []byte { return []byte(`{"rootKeys":[]}`) }, nil, update.ReasonRootPackage},
		{"unreachable", nil, nil, update.ReasonRootPackage},
		{"server error", func(f *fixture) []byte { return must(updatetest.RotationPackage(v2, f.root, root2)) },
			&updatesrv.Fault{Status: 503}, update.ReasonRootPackage},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := newMgrRig(t)
			r.boot(nil)
			url := r.srv.URL() + "/roots.json"
			if tc.pkg != nil {
				url = r.publishPackage("roots.json", tc.pkg(r.fix))
			}
			if tc.fault != nil {
				r.srv.SetFault("roots.json", *tc.fault)
			}
			r.deploySigned("wf-1", "7.3.0", 8, r.fix.signer, nil, url)
			rec := r.waitPhase(update.PhaseFailed, settle)
			if rec.Result.ExtendedResultCode != tc.want.ExtendedResultCode() || rec.Result.ResultCode != update.ResultFailure ||
				!strings.Contains(rec.Result.ResultDetails, "root key package") {
				t.Fatalf("lastInstallResult = %+v, want %s naming the root key package", rec.Result, tc.want)
			}
			agent := r.waitReported(update.StateFailed)
			if res := agent["lastInstallResult"].(map[string]any); res["extendedResultCode"] != float64(tc.want.ExtendedResultCode()) {
				t.Errorf("reported lastInstallResult = %v", res)
			}
			if v := r.mgr.Roots().Version(); v != 1 {
				t.Errorf("roots in force v%d, want the built-in v1", v)
			}
			if r.slots.ActiveSlot() != cartodev.SlotA || r.slots.ActiveVersion() != cartodev.Version {
				t.Errorf("slots changed: %s %s", r.slots.ActiveSlot(), r.slots.ActiveVersion())
			}
			for _, req := range r.srv.Requests() {
				if strings.HasPrefix(req.File, "carto-") {
					t.Errorf("payload %s fetched for a rejected deployment", req.File)
				}
			}
			if e := r.audits.want(t, update.AuditRejected, "wf-1"); e.Reason != tc.want.String() {
				t.Errorf("audited rejection reason %q, want %q", e.Reason, tc.want)
			}
		})
	}
}

// TestPersistedRootsThatDoNotVerifyAreReportedAndIgnored: a damaged
// record of rotated roots never stops the agent: the roots reached before
// the damage stay in force and the problem is reported and audited.
func TestPersistedRootsThatDoNotVerifyAreReportedAndIgnored(t *testing.T) {
	f := newFixture(t)
	root2, root3 := must(updatetest.NewKey("root-2")), must(updatetest.NewKey("root-3"))
	pkg2 := must(updatetest.RotationPackage(updatetest.RootSet{Version: 2, Keys: []*updatetest.Key{root2}}, f.root, root2))
	forged := must(updatetest.RotationPackage(updatetest.RootSet{Version: 3, Keys: []*updatetest.Key{root3}}, root3))
	tests := []struct {
		name    string
		record  []byte
		want    uint64
		problem bool
	}{
		{"one rotation", recordOf(pkg2), 2, false},
		{"record does not decode", []byte(`{"schema":1,"packages":"x"`), 1, true},
		{"unknown schema", []byte(`{"schema":9,"packages":[]}`), 1, true},
		{"package tampered with", recordOf(bytes.Replace(pkg2, []byte(`"version":2`), []byte(`"version":5`), 1)), 1, true},
		{"second link not signed by the first", recordOf(pkg2, forged), 2, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := newMgrRig(t)
			r.fix = f
			st, closeStore := openRecords(t, r.path)
			if err := st.PutUpload(update.KeyPrefix+"roots", tc.record); err != nil {
				t.Fatal(err)
			}
			closeStore()
			r.boot(nil)
			if v := r.mgr.Roots().Version(); v != tc.want {
				t.Errorf("roots in force v%d, want v%d", v, tc.want)
			}
			problem := r.mgr.RootsProblem()
			_, audited := r.audits.last(update.AuditRootsIgnored, "")
			if (problem != "") != tc.problem || audited != tc.problem {
				t.Errorf("problem %q (audited %v), want one: %v", problem, audited, tc.problem)
			}
		})
	}
}

// recordOf is the persisted form of accepted packages.
func recordOf(pkgs ...[]byte) []byte {
	m := memRecords{}
	if err := update.NewRecordStore(m).SaveRootPackages(pkgs); err != nil {
		panic(err)
	}
	return m[update.KeyPrefix+"roots"]
}

// memRecords is an in-memory update.Records.
type memRecords map[string][]byte

func (m memRecords) PutUpload(id string, b []byte) error { m[id] = bytes.Clone(b); return nil }
func (m memRecords) DeleteUpload(id string) error        { delete(m, id); return nil }
func (m memRecords) GetUpload(id string) ([]byte, bool, error) {
	b, ok := m[id]
	return b, ok, nil
}

// TestDeploymentReplacedWhileItsRootKeyPackageIsFetched: fetching a root
// key package takes time; a deployment that replaces the one being
// fetched for (or a cancel) drops it unrecorded, as for any deployment
// that has not started.
func TestDeploymentReplacedWhileItsRootKeyPackageIsFetched(t *testing.T) {
	r := newMgrRig(t)
	r.boot(nil)
	root2 := must(updatetest.NewKey("root-2"))
	url := r.publishPackage("roots.json", must(updatetest.RotationPackage(
		updatetest.RootSet{Version: 2, Keys: []*updatetest.Key{root2}}, r.fix.root, root2)))
	r.srv.SetFault("roots.json", updatesrv.Fault{BytesPerSecond: 10}) // minutes for the package
	r.deploySigned("wf-1", "7.3.0", 8, r.fix.signer, nil, url)
	eventually(t, settle, "the package fetch to begin", func() error {
		if len(r.srv.Requests()) == 0 && r.srv.BytesSent() == 0 {
			return errors.New("no request yet")
		}
		return nil
	})
	r.deploy("wf-2", "7.4.0", 9)
	rec := r.waitPhase(update.PhaseCommitted, settle)
	if rec.Workflow.ID != "wf-2" || r.mgr.Roots().Version() != 1 {
		t.Fatalf("record %s, roots v%d; want wf-2 installed and the roots unchanged", rec.Workflow.ID, r.mgr.Roots().Version())
	}
	if _, ok := r.audits.last(update.AuditAccepted, "wf-1"); ok {
		t.Error("the replaced deployment was accepted")
	}
}
