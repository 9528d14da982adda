package carto

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/cloudpillar/cloudpillar/agent/update"
)

// InstallToInactive writes files into the inactive slot: it first marks
// the slot invalid on disk, replaces its directory, copies the files
// (stopping between files if ctx ends), and only then records the new
// version. The active slot is never touched.
func (s *Slots) InstallToInactive(ctx context.Context, id update.UpdateID, files []update.StagedFile) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.lossLocked(PowerLossNone); err != nil {
		return err
	}
	if s.failInstall != nil {
		return s.failInstall
	}
	slot := s.inactiveLocked()
	s.st.Versions[slot] = ""
	if err := s.saveLocked(); err != nil {
		return err
	}
	dir := filepath.Join(s.dir, slot)
	if err := os.RemoveAll(dir); err != nil {
		return fmt.Errorf("carto slots: clear slot %s: %w", slot, err)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("carto slots: slot %s: %w", slot, err)
	}
	for i, f := range files {
		if i == len(files)/2 {
			if err := s.lossLocked(PowerLossInstall); err != nil {
				return err
			}
		}
		if err := checkCtx(ctx); err != nil {
			return err
		}
		if err := copyFile(filepath.Join(dir, f.Name), f.Path); err != nil {
			return fmt.Errorf("carto slots: install %s to slot %s: %w", f.Name, slot, err)
		}
	}
	syncDir(dir)
	s.st.Versions[slot] = id.Version
	return s.saveLocked()
}

// Activate switches to the inactive slot on trial; the old slot becomes
// the fallback.
func (s *Slots) Activate(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.lossLocked(PowerLossActivateBefore); err != nil {
		return err
	}
	slot := s.inactiveLocked()
	if s.st.Versions[slot] == "" {
		return fmt.Errorf("carto slots: slot %s holds no valid software", slot)
	}
	s.st.Previous, s.st.Active, s.st.Trial = s.st.Active, slot, true
	if err := s.saveLocked(); err != nil {
		return err
	}
	return s.lossLocked(PowerLossActivateAfter)
}

// HealthCheck passes when the active slot holds valid software with files
// and no failure was injected.
func (s *Slots) HealthCheck(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.lossLocked(PowerLossHealthCheck); err != nil {
		return err
	}
	if s.failHealth != nil {
		return s.failHealth
	}
	entries, err := os.ReadDir(filepath.Join(s.dir, s.st.Active))
	switch {
	case err != nil:
		return fmt.Errorf("carto health: slot %s: %w", s.st.Active, err)
	case s.st.Versions[s.st.Active] == "" || len(entries) == 0:
		return fmt.Errorf("carto health: slot %s holds no valid software", s.st.Active)
	}
	return checkCtx(ctx)
}

// Commit marks the active slot good. Repeating it does nothing.
func (s *Slots) Commit() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.lossLocked(PowerLossCommitBefore); err != nil {
		return err
	}
	if s.st.Trial {
		s.st.Trial = false
		if err := s.saveLocked(); err != nil {
			return err
		}
	}
	return s.lossLocked(PowerLossCommitAfter)
}

// Rollback switches back to the previous slot and marks the abandoned one
// invalid. On the previous slot already it does nothing.
func (s *Slots) Rollback() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.lossLocked(PowerLossNone); err != nil {
		return err
	}
	if s.st.Previous == "" || s.st.Active == s.st.Previous {
		return nil
	}
	if s.st.Versions[s.st.Previous] == "" {
		return errors.New("carto slots: the previous slot holds no valid software")
	}
	bad := s.st.Active
	s.st.Active, s.st.Trial, s.st.Versions[bad] = s.st.Previous, false, ""
	if err := s.saveLocked(); err != nil {
		return err
	}
	return s.lossLocked(PowerLossRollback)
}
