package scripts_test

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cloudpillar/cloudpillar/agent/update/scripts"
)

// TestHandlerRefusesABadPackageBeforeAnythingRuns: a package whose
// programs are not among the update's (signed) files, or whose paths
// leave the slot, is refused with ErrBadPackage before the slot is
// touched, the state changes or any program runs.
func TestHandlerRefusesABadPackageBeforeAnythingRuns(t *testing.T) {
	withInstall := func(argv string) map[string]string {
		files := stepFiles("1.0.1")
		files["package.json"] = strings.Replace(stepPackage, `["sh", "./step.sh", "install"]`, argv, 1)
		return files
	}
	tests := []struct {
		name  string
		files map[string]string
		want  string
	}{
		{"no package description", map[string]string{"step.sh": stepScript}, "no package.json"},
		{"malformed description", map[string]string{"package.json": `{"install": [`}, "package.json"},
		{"misspelt step", map[string]string{"package.json": `{"instal": ["sh"]}`}, `unknown field "instal"`},
		{"missing step", map[string]string{"package.json": `{"install": ["sh"], "activate": ["sh"], "rollback": ["sh"]}`},
			`step "health": missing or empty command`},
		{"script not staged", withInstall(`["sh", "./other.sh"]`), `"./other.sh" is not one of the update's (signed) files`},
		{"program not staged", withInstall(`["./other.sh"]`), `"./other.sh" is not one of the update's (signed) files`},
		{"script in a parent directory", withInstall(`["sh", "../step.sh"]`), "leaves the slot"},
		{"script climbing through the slot", withInstall(`["sh", "./../agent/state.json"]`), "leaves the slot"},
		{"option climbing out", withInstall(`["sh", "./step.sh", "--log=../../x"]`), "leaves the slot"},
		{"absolute script", withInstall(`["sh", "/tmp/step.sh"]`), "absolute path"},
		{"absolute Windows script", withInstall(`["powershell.exe", "-File", "C:\\Temp\\x.ps1"]`), "absolute path"},
		{"absolute program", withInstall(`["/bin/sh", "./step.sh"]`), `program "/bin/sh" must be`},
		{"script in a subdirectory", withInstall(`["sh", "./sub/step.sh"]`), "not a file at the top of the slot"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := newRig(t)
			before := r.stateBytes()
			err := r.h.InstallToInactive(t.Context(), id("1.0.1"), stage(t, tc.files))
			if !errors.Is(err, scripts.ErrBadPackage) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("InstallToInactive = %v, want ErrBadPackage containing %q", err, tc.want)
			}
			if after := r.stateBytes(); !bytes.Equal(before, after) {
				t.Fatalf("state changed:\n%s\nwas\n%s", after, before)
			}
			if entries, _ := os.ReadDir(filepath.Join(r.dir(), "slots", "B")); len(entries) != 0 {
				t.Fatalf("slot B holds %d entries after a refused package", len(entries))
			}
			if log := r.device("log"); log != "" {
				t.Fatalf("programs ran for a refused package:\n%s", log)
			}
		})
	}
}

func (r *rig) stateBytes() []byte {
	r.t.Helper()
	b, err := os.ReadFile(filepath.Join(r.dir(), "state.json"))
	if err != nil {
		r.t.Fatal(err)
	}
	return b
}

// TestNewRefusesACorruptState: a state file that does not decode or
// contradicts itself is reported with its path, never guessed at: the
// active slot decides what installedUpdateId claims.
func TestNewRefusesACorruptState(t *testing.T) {
	tests := []struct {
		name  string
		state string
		want  string
	}{
		{"garbage", "\x00\x01not json", "invalid character"},
		{"empty", "", "unexpected end of JSON input"},
		{"future schema", `{"schema": 2, "active": "A", "slots": {"A": {"status": "factory"}, "B": {"status": "empty"}}}`, "schema 2"},
		{"unknown active slot", `{"schema": 1, "active": "C", "slots": {"A": {"status": "factory"}, "B": {"status": "empty"}}}`, `active slot "C"`},
		{"a slot missing", `{"schema": 1, "active": "A", "slots": {"A": {"status": "factory"}}}`, "want A and B"},
		{"trial on the committed slot", `{"schema": 1, "active": "A", "trial": {"slot": "A", "stage": "onTrial"},
			"slots": {"A": {"status": "factory"}, "B": {"status": "empty"}}}`, "not the inactive slot"},
		{"trial on an empty slot", `{"schema": 1, "active": "A", "trial": {"slot": "B", "stage": "onTrial"},
			"slots": {"A": {"status": "factory"}, "B": {"status": "empty"}}}`, "not installed"},
		{"installed without a package", `{"schema": 1, "active": "A",
			"slots": {"A": {"status": "factory"}, "B": {"status": "installed"}}}`, "without an update id and package"},
		{"unknown status", `{"schema": 1, "active": "A", "slots": {"A": {"status": "factory"}, "B": {"status": "weird"}}}`, `"weird" unknown`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "state.json")
			writeFile(t, path, tc.state)
			_, err := scripts.New(scripts.Config{Dir: dir})
			if !errors.Is(err, scripts.ErrCorruptState) || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("New = %v, want ErrCorruptState naming %s and %q", err, path, tc.want)
			}
			if b, _ := os.ReadFile(path); string(b) != tc.state {
				t.Fatal("New changed a state file it refused")
			}
		})
	}
}

// TestNewRefusesALostStateNextToInstalledSlots: a missing state file
// with files in a slot is a lost state, not a new device.
func TestNewRefusesALostStateNextToInstalledSlots(t *testing.T) {
	r := newRig(t)
	if err := r.h.InstallToInactive(t.Context(), id("1.0.1"), stage(t, stepFiles("1.0.1"))); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(r.dir(), "state.json")); err != nil {
		t.Fatal(err)
	}
	if _, err := scripts.New(r.config()); !errors.Is(err, scripts.ErrCorruptState) || !strings.Contains(err.Error(), "slot B holds files") {
		t.Fatalf("New = %v, want ErrCorruptState: slot B holds files", err)
	}
}

// TestNewDiscardsASaveCutShort: a temporary file left by a save the power
// cut is removed; the state file it was to replace still counts.
func TestNewDiscardsASaveCutShort(t *testing.T) {
	r := newRig(t)
	tmp := filepath.Join(r.dir(), "state.json.tmp")
	writeFile(t, tmp, `{"schema": 1, "act`)
	r.wantActive(r.open(), "A")
	if _, err := os.Stat(tmp); !os.IsNotExist(err) {
		t.Fatalf("%s is still there: %v", tmp, err)
	}
}
