package carto

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/cloudpillar/cloudpillar/agent/update"
)

// staged writes files into a staging directory as the agent's download
// would leave them.
func staged(t *testing.T, names ...string) []update.StagedFile {
	t.Helper()
	dir := t.TempDir()
	var out []update.StagedFile
	for _, n := range names {
		p := filepath.Join(dir, n)
		if err := os.WriteFile(p, []byte("payload "+n), 0o600); err != nil {
			t.Fatal(err)
		}
		out = append(out, update.StagedFile{Name: n, Path: p})
	}
	return out
}

func status(s *Slots) (string, bool, string, string) {
	a, trial, v := s.Status()
	return a, trial, v[SlotA], v[SlotB]
}

func TestSlotsInstallActivateCommitSurviveReboots(t *testing.T) {
	dir := t.TempDir()
	s, err := OpenSlots(dir, Version)
	if err != nil {
		t.Fatal(err)
	}
	d := New(1)
	d.UseSlots(s)
	id := update.UpdateID{Provider: "p", Name: "carto3", Version: "7.3.0"}
	if err := s.InstallToInactive(context.Background(), id, staged(t, "a.img", "b.img")); err != nil {
		t.Fatal(err)
	}
	if a, trial, va, vb := status(s); a != SlotA || trial || va != Version || vb != "7.3.0" {
		t.Fatalf("after install: %s %v %s %s", a, trial, va, vb)
	}
	if err := s.Activate(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := s.HealthCheck(context.Background()); err != nil {
		t.Fatalf("HealthCheck = %v", err)
	}
	s, _ = OpenSlots(dir, Version) // reboot on trial
	if a, trial, _, _ := status(s); a != SlotB || !trial {
		t.Fatalf("after activation and reboot: active %s trial %v, want B on trial", a, trial)
	}
	d.UseSlots(s)
	if v := d.Metrics()["softwareVersion"]; v != "7.3.0" {
		t.Errorf("softwareVersion = %v, want the active slot's", v)
	}
	for range 2 { // Commit is idempotent
		if err := s.Commit(); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Rollback(); err != nil { // the agent never does this after commit; it would go back
		t.Fatal(err)
	}
	if a, trial, _, vb := status(s); a != SlotA || trial || vb != "" {
		t.Errorf("after rollback: active %s trial %v B %q, want A, B invalid", a, trial, vb)
	}
}

func TestSlotsRollBackAFailedHealthCheck(t *testing.T) {
	s, _ := OpenSlots(t.TempDir(), Version)
	s.FailHealthCheck(errors.New("service down"))
	_ = s.InstallToInactive(context.Background(), update.UpdateID{Version: "7.3.0"}, staged(t, "a.img"))
	_ = s.Activate(context.Background())
	if err := s.HealthCheck(context.Background()); err == nil {
		t.Fatal("HealthCheck passed with an injected failure")
	}
	for range 2 { // Rollback is idempotent
		if err := s.Rollback(); err != nil {
			t.Fatal(err)
		}
	}
	if a, trial, va, vb := status(s); a != SlotA || trial || va != Version || vb != "" {
		t.Errorf("after rollback: %s %v %s %q", a, trial, va, vb)
	}
	if err := s.Activate(context.Background()); err == nil {
		t.Error("activated a slot marked invalid")
	}
}

func TestSlotsPowerLossLeavesTheInactiveSlotInvalid(t *testing.T) {
	dir := t.TempDir()
	s, _ := OpenSlots(dir, Version)
	lost := 0
	s.PowerLossAt(PowerLossInstall, func() { lost++ })
	err := s.InstallToInactive(context.Background(), update.UpdateID{Version: "7.3.0"}, staged(t, "a.img", "b.img"))
	if !errors.Is(err, ErrPowerLost) || lost != 1 {
		t.Fatalf("InstallToInactive = %v (lost %d), want ErrPowerLost once", err, lost)
	}
	if s.Commit() != ErrPowerLost || s.HealthCheck(context.Background()) != ErrPowerLost {
		t.Error("a dead Slots still answers")
	}
	s, _ = OpenSlots(dir, Version)
	if a, trial, va, vb := status(s); a != SlotA || trial || va != Version || vb != "" {
		t.Errorf("after power loss mid-install: %s %v %s %q, want A active and B invalid", a, trial, va, vb)
	}
}

func TestSlotsInstallStopsWhenCancelled(t *testing.T) {
	s, _ := OpenSlots(t.TempDir(), Version)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := s.InstallToInactive(ctx, update.UpdateID{Version: "7.3.0"}, staged(t, "a.img")); err == nil {
		t.Fatal("install ran with a cancelled context")
	}
	if _, _, _, vb := status(s); vb != "" {
		t.Errorf("slot B = %q after a stopped install, want invalid", vb)
	}
}
