package scripts_test

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cloudpillar/cloudpillar/agent/update"
	"github.com/cloudpillar/cloudpillar/agent/update/scripts"
	"github.com/cloudpillar/cloudpillar/internal/leakcheck"
)

// TestMain fails the package if a goroutine outlives the tests (STYLE.md
// guideline 4).
func TestMain(m *testing.M) { leakcheck.Main(m, 10*time.Second, nil) }

// stepScript is the test package's one program, run as "sh ./step.sh
// <step>". It logs each run to $TEST_DEVICE_DIR/log, blocks while
// block-<step> exists (after writing blocked-<step>), fails with exit 3
// while fail-<step> exists, and otherwise plays a device whose file
// "current" names the slot it runs.
const stepScript = `set -eu
step=$1
dev=$TEST_DEVICE_DIR
echo "$step $CLOUDPILLAR_SLOT $CLOUDPILLAR_UPDATE_VERSION" >> "$dev/log"
if [ -e "$dev/block-$step" ]; then
	echo $$ > "$dev/blocked-$step.tmp"
	mv "$dev/blocked-$step.tmp" "$dev/blocked-$step"
	while [ -e "$dev/block-$step" ]; do sleep 0.02; done
fi
if [ -e "$dev/fail-$step" ]; then
	echo "$step of $CLOUDPILLAR_UPDATE_VERSION failed on purpose" >&2
	exit 3
fi
case $step in
install)
	cp payload.txt installed.txt
	env | grep '^CLOUDPILLAR_' | sort > "$dev/env-install" ;;
activate) echo "$CLOUDPILLAR_SLOT" > "$dev/current" ;;
health)
	cur=$(cat "$dev/current")
	[ "$cur" = "$CLOUDPILLAR_SLOT" ] || { echo "device runs slot $cur, not $CLOUDPILLAR_SLOT" >&2; exit 4; }
	[ "$(cat installed.txt)" = "$CLOUDPILLAR_UPDATE_VERSION" ] || { echo "slot does not hold $CLOUDPILLAR_UPDATE_VERSION" >&2; exit 5; } ;;
commit) echo "$CLOUDPILLAR_SLOT" > "$dev/committed" ;;
rollback) echo "$CLOUDPILLAR_PREVIOUS_SLOT" > "$dev/current" ;;
esac
`

// stepPackage is the package description running stepScript for every step.
const stepPackage = `{
	"install": ["sh", "./step.sh", "install"],
	"activate": ["sh", "./step.sh", "activate"],
	"health": ["sh", "./step.sh", "health"],
	"commit": ["sh", "./step.sh", "commit"],
	"rollback": ["sh", "./step.sh", "rollback"]
}`

// needSh skips tests whose packages are sh scripts where there is no sh.
func needSh(t testing.TB) {
	t.Helper()
	if _, err := exec.LookPath("sh"); err != nil {
		t.Skip("no sh on PATH: the test packages are sh scripts")
	}
}

// rig is a device for the handler: root/agent is the handler's Dir and
// root/device the directory its packages treat as the device. Copying
// root while a step runs is the disk a power loss would leave.
type rig struct {
	t    *testing.T
	root string
	h    *scripts.Handler
}

func newRig(t *testing.T) *rig {
	t.Helper()
	needSh(t)
	root := t.TempDir()
	if err := os.MkdirAll(filepath.Join(root, "device"), 0o700); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(root, "device", "current"), "A\n")
	r := &rig{t: t, root: root}
	r.h = r.open()
	return r
}

// open builds a Handler on the rig's directory, as the agent does at boot.
func (r *rig) open() *scripts.Handler {
	r.t.Helper()
	h, err := scripts.New(r.config())
	if err != nil {
		r.t.Fatal(err)
	}
	return h
}

func (r *rig) config() scripts.Config {
	return scripts.Config{
		Dir:    r.dir(),
		Env:    []string{"TEST_DEVICE_DIR=" + r.dev()},
		Logger: testLogger(r.t),
	}
}

// testLogger sends logs to the test's output.
func testLogger(t testing.TB) *slog.Logger { return slog.New(slog.NewTextHandler(t.Output(), nil)) }

func (r *rig) dir() string { return filepath.Join(r.root, "agent") }
func (r *rig) dev() string { return filepath.Join(r.root, "device") }

// device reads a file of the device directory, trimmed ("" if absent).
func (r *rig) device(name string) string {
	b, err := os.ReadFile(filepath.Join(r.dev(), name))
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}

// touch creates a control file (block-<step>, fail-<step>) in the device.
func (r *rig) touch(name string) { writeFile(r.t, filepath.Join(r.dev(), name), "") }

func (r *rig) remove(name string) {
	if err := os.Remove(filepath.Join(r.dev(), name)); err != nil && !os.IsNotExist(err) {
		r.t.Fatal(err)
	}
}

// runs counts the runs of step in the device's log.
func (r *rig) runs(step string) int {
	n := 0
	for line := range strings.Lines(r.device("log")) {
		if strings.HasPrefix(line, step+" ") {
			n++
		}
	}
	return n
}

// savedState is the part of state.json the tests read.
type savedState struct {
	Active   string `json:"active"`
	Previous string `json:"previous"`
	Trial    *struct {
		Slot  string `json:"slot"`
		Stage string `json:"stage"`
	} `json:"trial"`
	Slots map[string]struct {
		Status   string           `json:"status"`
		UpdateID *update.UpdateID `json:"updateId"`
	} `json:"slots"`
}

// saved reads state.json from disk.
func (r *rig) saved() savedState {
	r.t.Helper()
	raw, err := os.ReadFile(filepath.Join(r.dir(), "state.json"))
	if err != nil {
		r.t.Fatal(err)
	}
	var s savedState
	if err := json.Unmarshal(raw, &s); err != nil {
		r.t.Fatalf("state.json: %v\n%s", err, raw)
	}
	return s
}

// stage is the trial's stage on disk, "" when nothing is on trial.
func (s savedState) stage() string {
	if s.Trial == nil {
		return ""
	}
	return s.Trial.Slot + ":" + s.Trial.Stage
}

func (r *rig) wantActive(h *scripts.Handler, want string) {
	r.t.Helper()
	if got := h.ActiveSlot(); got != want {
		s := r.saved()
		r.t.Fatalf("ActiveSlot() = %s, want %s (state on disk: active %s, trial %q)", got, want, s.Active, s.stage())
	}
}

// id is the update id of a test package version.
func id(version string) update.UpdateID {
	return update.UpdateID{Provider: "Cloud-Pillar", Name: "carto3", Version: version}
}

// stage writes files into a new staging directory, as the Manager's
// downloader leaves them, and returns them as staged files.
func stage(t testing.TB, files map[string]string) []update.StagedFile {
	t.Helper()
	dir := t.TempDir()
	var out []update.StagedFile
	for name, content := range files {
		path := filepath.Join(dir, name)
		writeFile(t, path, content)
		out = append(out, update.StagedFile{Name: name, Path: path})
	}
	return out
}

// stepFiles is the test package at version.
func stepFiles(version string) map[string]string {
	return map[string]string{"package.json": stepPackage, "step.sh": stepScript, "payload.txt": version}
}

func writeFile(t testing.TB, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

// eventually polls cond until it returns nil or d passes.
func eventually(t testing.TB, d time.Duration, what string, cond func() error) {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		err := cond()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: still not true after %v: %v", what, d, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// exists is nil when the device file name exists.
func (r *rig) exists(name string) func() error {
	return func() error {
		if _, err := os.Stat(filepath.Join(r.dev(), name)); err != nil {
			return fmt.Errorf("device file %s: %w", name, err)
		}
		return nil
	}
}
