package carto

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"sync"

	"github.com/cloudpillar/cloudpillar/agent/update"
)

// Slot names.
const (
	SlotA = "A"
	SlotB = "B"
)

// PowerLoss names a point in a slot operation where the simulated power
// fails: the operation stops there, what it wrote to disk stays, and the
// Slots is dead (every call returns ErrPowerLost) until OpenSlots reads the
// directory again, as the device would after the reboot.
type PowerLoss string

// Power-loss points.
const (
	PowerLossNone           PowerLoss = ""
	PowerLossInstall        PowerLoss = "install"         // half the files written to the inactive slot
	PowerLossActivateBefore PowerLoss = "activate-before" // before the switch
	PowerLossActivateAfter  PowerLoss = "activate-after"  // after the switch, before Activate returns
	PowerLossHealthCheck    PowerLoss = "health-check"    // during the health check
	PowerLossCommitBefore   PowerLoss = "commit-before"   // before the slot is marked good
	PowerLossCommitAfter    PowerLoss = "commit-after"    // after it is marked good
	PowerLossRollback       PowerLoss = "rollback"        // after switching back, before Rollback returns
)

// ErrPowerLost is returned by a Slots whose simulated power failed.
var ErrPowerLost = errors.New("carto: power lost")

// slotsState is persisted in <dir>/slots.json.
type slotsState struct {
	Active   string            `json:"active"`
	Previous string            `json:"previous,omitempty"` // fallback of a slot on trial, kept after commit
	Trial    bool              `json:"trial"`              // the active slot is not committed yet
	Versions map[string]string `json:"versions"`           // software version per slot; "" = empty or invalid
}

// Slots is the virtual CARTO's A/B software slots in a directory
// (<dir>/A, <dir>/B, <dir>/slots.json): an update.Installer whose state
// survives a simulated reboot. Safe for concurrent use.
type Slots struct {
	dir string

	mu          sync.Mutex
	st          slotsState // guarded by mu
	failInstall error      // guarded by mu
	failHealth  error      // guarded by mu
	powerLoss   PowerLoss  // guarded by mu
	onLoss      func()     // guarded by mu
	dead        bool       // guarded by mu
}

var _ update.Installer = (*Slots)(nil)

// OpenSlots loads the slots in dir, or creates them with factoryVersion
// installed and committed in slot A.
func OpenSlots(dir, factoryVersion string) (*Slots, error) {
	s := &Slots{dir: dir}
	raw, err := os.ReadFile(s.statePath())
	switch {
	case errors.Is(err, os.ErrNotExist):
		s.st = slotsState{Active: SlotA, Versions: map[string]string{SlotA: factoryVersion, SlotB: ""}}
		if err := os.MkdirAll(filepath.Join(dir, SlotA), 0o700); err != nil {
			return nil, fmt.Errorf("carto slots: %w", err)
		}
		return s, s.saveLocked()
	case err != nil:
		return nil, fmt.Errorf("carto slots: %w", err)
	}
	if err := json.Unmarshal(raw, &s.st); err != nil {
		return nil, fmt.Errorf("carto slots %s: %w", s.statePath(), err)
	}
	return s, nil
}

func (s *Slots) statePath() string { return filepath.Join(s.dir, "slots.json") }

// FailInstall makes every InstallToInactive fail with err (nil: succeed).
func (s *Slots) FailInstall(err error) { s.set(func() { s.failInstall = err }) }

// FailHealthCheck makes every HealthCheck fail with err (nil: pass).
func (s *Slots) FailHealthCheck(err error) { s.set(func() { s.failHealth = err }) }

// PowerLossAt arms a power loss at p; onLoss (may be nil) runs when it
// happens, before the failing call returns ErrPowerLost.
func (s *Slots) PowerLossAt(p PowerLoss, onLoss func()) {
	s.set(func() { s.powerLoss, s.onLoss = p, onLoss })
}

func (s *Slots) set(f func()) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f()
}

// ActiveSlot names the active slot.
func (s *Slots) ActiveSlot() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.st.Active
}

// ActiveVersion is the software version of the active slot.
func (s *Slots) ActiveVersion() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.st.Versions[s.st.Active]
}

// Status reports the active slot, whether it is on trial, and the version
// in each slot ("" for empty or invalid).
func (s *Slots) Status() (active string, trial bool, versions map[string]string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.st.Active, s.st.Trial, maps.Clone(s.st.Versions)
}

// Dir is the directory holding the slots.
func (s *Slots) Dir() string { return s.dir }

func (s *Slots) inactiveLocked() string {
	if s.st.Active == SlotA {
		return SlotB
	}
	return SlotA
}

// lossLocked reports ErrPowerLost if the Slots is dead or p is the armed
// power-loss point (which kills it).
func (s *Slots) lossLocked(p PowerLoss) error {
	if !s.dead && (p == PowerLossNone || p != s.powerLoss) {
		return nil
	}
	if !s.dead {
		s.dead = true
		if s.onLoss != nil {
			s.onLoss()
		}
	}
	return ErrPowerLost
}

// saveLocked writes slots.json atomically (temporary file, sync, rename).
func (s *Slots) saveLocked() error {
	raw, err := json.Marshal(s.st)
	if err != nil {
		return err
	}
	tmp := s.statePath() + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return fmt.Errorf("carto slots: %w", err)
	}
	_, err = f.Write(raw)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, s.statePath())
	}
	if err != nil {
		return fmt.Errorf("carto slots: save: %w", err)
	}
	syncDir(s.dir)
	return nil
}

func syncDir(dir string) {
	if f, err := os.Open(dir); err == nil {
		_ = f.Sync()
		f.Close()
	}
}

// copyFile copies src to dst and syncs it.
func copyFile(dst, src string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	_, err = io.Copy(out, in)
	if err == nil {
		err = out.Sync()
	}
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	return err
}

// checkCtx is ctx's error, for steps that stop early when a case starts.
func checkCtx(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("carto slots: stopped: %w", context.Cause(ctx))
	}
	return nil
}
