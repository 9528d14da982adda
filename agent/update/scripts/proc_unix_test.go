//go:build unix

package scripts_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/cloudpillar/cloudpillar/agent/update/scripts"
)

// spawnScript starts a child that would sleep for five minutes, records
// its pid, and waits for it.
const spawnScript = `sleep 300 &
echo $! > "$TEST_DEVICE_DIR/child.pid.tmp"
mv "$TEST_DEVICE_DIR/child.pid.tmp" "$TEST_DEVICE_DIR/child.pid"
wait
`

// spawnFiles is a package whose install program is spawnScript.
func spawnFiles() map[string]string {
	files := stepFiles("1.0.1")
	files["spawn.sh"] = spawnScript
	files["package.json"] = strings.Replace(stepPackage, `["sh", "./step.sh", "install"]`, `["sh", "./spawn.sh"]`, 1)
	return files
}

// TestHandlerTimeoutKillsTheProcessGroup: a program still running at
// Config.Timeout is killed with the children it started.
func TestHandlerTimeoutKillsTheProcessGroup(t *testing.T) {
	r := newRig(t)
	cfg := r.config()
	cfg.Timeout = 3 * time.Second
	h, err := scripts.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	err = h.InstallToInactive(t.Context(), id("1.0.1"), stage(t, spawnFiles()))
	if err == nil || !strings.Contains(err.Error(), "install (slot B): timed out after 3s") {
		t.Fatalf("InstallToInactive = %v, want a timeout", err)
	}
	if took := time.Since(start); took > settle {
		t.Fatalf("the timed-out install returned after %v", took)
	}
	r.wantGone(r.childPID())
	r.wantActive(h, "A")
}

// TestHandlerInstallStopsWhenItsContextEnds: the guard pausing an install
// (ctx cancelled) kills the install program and its children at once.
func TestHandlerInstallStopsWhenItsContextEnds(t *testing.T) {
	r := newRig(t)
	ctx, cancel := context.WithCancelCause(t.Context())
	defer cancel(nil)
	paused := errors.New("paused by the patient-first guard")
	done := make(chan error, 1)
	go func() { done <- r.h.InstallToInactive(ctx, id("1.0.1"), stage(t, spawnFiles())) }()
	eventually(t, settle, "child started", r.exists("child.pid"))
	cancel(paused)
	select {
	case err := <-done:
		if !errors.Is(err, paused) {
			t.Fatalf("InstallToInactive = %v, want it stopped with the context's cause", err)
		}
	case <-time.After(settle):
		t.Fatal("InstallToInactive did not return after its context ended")
	}
	r.wantGone(r.childPID())
	if s := r.saved().Slots["B"].Status; s != "installing" {
		t.Fatalf("slot B is %s after a stopped install, want installing (never activated)", s)
	}
}

func (r *rig) childPID() int {
	r.t.Helper()
	pid, err := strconv.Atoi(r.device("child.pid"))
	if err != nil {
		r.t.Fatalf("child.pid: %v (the script did not start its child in time)", err)
	}
	return pid
}

// wantGone waits until pid has ended.
func (r *rig) wantGone(pid int) {
	r.t.Helper()
	eventually(r.t, settle, fmt.Sprintf("child %d killed", pid), func() error {
		if alive(pid) {
			return fmt.Errorf("process %d still running", pid)
		}
		return nil
	})
}

// alive reports whether pid runs: exists and is not a zombie (a killed
// orphan stays a zombie until an init that may not reap it does).
func alive(pid int) bool {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err == nil {
		_, rest, _ := strings.Cut(string(stat), ") ")
		return !strings.HasPrefix(rest, "Z") && !strings.HasPrefix(rest, "X")
	}
	if _, err := os.Stat("/proc/self/stat"); err == nil {
		return false // /proc works and pid is not in it
	}
	return syscall.Kill(pid, 0) == nil
}

// TestHandlerRunsAPackageFileAsTheProgram: a command whose program is
// "./name" runs that package file, which the handler made executable;
// the other files are not.
func TestHandlerRunsAPackageFileAsTheProgram(t *testing.T) {
	r := newRig(t)
	files := stepFiles("1.0.1")
	files["step.sh"] = "#!/bin/sh\n" + stepScript
	files["package.json"] = strings.Replace(stepPackage, `["sh", "./step.sh", "install"]`, `["./step.sh", "install"]`, 1)
	if err := r.h.InstallToInactive(t.Context(), id("1.0.1"), stage(t, files)); err != nil {
		t.Fatal(err)
	}
	if r.runs("install") != 1 {
		t.Fatalf("install ran %d times, want 1", r.runs("install"))
	}
	for name, want := range map[string]os.FileMode{"step.sh": 0o700, "payload.txt": 0o600, "package.json": 0o600} {
		fi, err := os.Stat(filepath.Join(r.dir(), "slots", "B", name))
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != want {
			t.Errorf("slot B's %s has mode %v, want %v", name, fi.Mode().Perm(), want)
		}
	}
}
