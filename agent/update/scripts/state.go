package scripts

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"

	"github.com/cloudpillar/cloudpillar/agent/update"
)

// ErrCorruptState is wrapped by New's error when the state file exists
// but does not decode or contradicts itself. The handler refuses to guess
// which slot is active; an operator must inspect or restore the file.
var ErrCorruptState = errors.New("scripts: corrupt state file")

// Slot names.
const (
	slotA = "A"
	slotB = "B"
)

// stateSchema is the state file's layout version.
const stateSchema = 1

// Stages of the slot on trial. Values are persisted: never rename one.
const (
	// stageActivating is saved before the activate program starts; it has
	// not (yet) exited 0. ActiveSlot still reports the committed slot.
	stageActivating = "activating"
	// stageOnTrial: activate exited 0; the slot runs until commit or
	// rollback. ActiveSlot reports it.
	stageOnTrial = "onTrial"
	// stageActivateFailed: activate failed and rollback could not undo
	// it. ActiveSlot reports the trial slot so the Manager rolls back.
	stageActivateFailed = "activateFailed"
)

// Slot statuses. Values are persisted: never rename one.
const (
	statusEmpty      = "empty"      // nothing installed by this handler
	statusFactory    = "factory"    // the software the device came with; not installed by this handler
	statusInstalling = "installing" // being written: must not be activated
	statusInstalled  = "installed"  // install exited 0: may be activated (or is running)
	statusRolledBack = "rolledBack" // abandoned by a rollback: must be installed again
)

// state is the handler's persisted state (Dir/state.json). It holds no
// absolute paths, so a copied Dir is a valid state elsewhere.
type state struct {
	Schema int `json:"schema"`
	// Active is the committed slot: the one the device returns to when
	// nothing is on trial.
	Active string `json:"active"`
	// Trial is the slot being activated or on trial; nil when none.
	Trial *trial `json:"trial,omitempty"`
	// Previous is the slot that was active before the last activation:
	// the fallback while a slot is on trial, history after commit.
	Previous string               `json:"previous,omitempty"`
	Slots    map[string]slotState `json:"slots"`
}

type trial struct {
	Slot  string `json:"slot"`
	Stage string `json:"stage"`
}

// slotState is what one slot holds.
type slotState struct {
	Status   string           `json:"status"`
	UpdateID *update.UpdateID `json:"updateId,omitempty"`
	Package  *pkg             `json:"package,omitempty"` // steps as checked at install
	Files    []string         `json:"files,omitempty"`   // the update's file names
}

// freshState is a new device: factory software in A, B empty.
func freshState() state {
	return state{Schema: stateSchema, Active: slotA, Slots: map[string]slotState{
		slotA: {Status: statusFactory}, slotB: {Status: statusEmpty},
	}}
}

func other(slot string) string {
	if slot == slotA {
		return slotB
	}
	return slotA
}

// reported is what ActiveSlot returns in s (doc.go lists each case).
func (s state) reported() string {
	if s.Trial != nil && s.Trial.Stage != stageActivating {
		return s.Trial.Slot
	}
	return s.Active
}

// inactive is the slot an install writes: the one not committed.
func (s state) inactive() string { return other(s.Active) }

// clone copies s deeply enough that changing the copy (its trial, or a
// slot replaced in its map) never changes s; slotState values are only
// ever replaced, never changed in place.
func (s state) clone() state {
	s.Slots = maps.Clone(s.Slots)
	if s.Trial != nil {
		t := *s.Trial
		s.Trial = &t
	}
	return s
}

// check rejects a state no sequence of steps can produce.
func (s state) check() error {
	switch {
	case s.Schema != stateSchema:
		return fmt.Errorf("schema %d, want %d", s.Schema, stateSchema)
	case s.Active != slotA && s.Active != slotB:
		return fmt.Errorf("active slot %q is not A or B", s.Active)
	case s.Previous != "" && s.Previous != slotA && s.Previous != slotB:
		return fmt.Errorf("previous slot %q is not A or B", s.Previous)
	case len(s.Slots) != 2:
		return fmt.Errorf("%d slots, want A and B", len(s.Slots))
	}
	for _, name := range []string{slotA, slotB} {
		sl, ok := s.Slots[name]
		if !ok {
			return fmt.Errorf("slot %s missing", name)
		}
		if err := sl.check(); err != nil {
			return fmt.Errorf("slot %s: %w", name, err)
		}
	}
	return s.checkTrial()
}

func (s state) checkTrial() error {
	t := s.Trial
	if t == nil {
		return nil
	}
	switch {
	case t.Slot != s.inactive():
		return fmt.Errorf("trial slot %q is not the inactive slot %s", t.Slot, s.inactive())
	case t.Stage != stageActivating && t.Stage != stageOnTrial && t.Stage != stageActivateFailed:
		return fmt.Errorf("trial stage %q unknown", t.Stage)
	case s.Slots[t.Slot].Status != statusInstalled:
		return fmt.Errorf("trial slot %s is %s, not installed", t.Slot, s.Slots[t.Slot].Status)
	}
	return nil
}

func (sl slotState) check() error {
	switch sl.Status {
	case statusEmpty, statusFactory, statusRolledBack:
		return nil
	case statusInstalling, statusInstalled:
	default:
		return fmt.Errorf("status %q unknown", sl.Status)
	}
	if sl.UpdateID == nil || sl.Package == nil {
		return fmt.Errorf("%s without an update id and package", sl.Status)
	}
	names := make(map[string]bool, len(sl.Files))
	for _, n := range sl.Files {
		if !plainName(n) {
			return fmt.Errorf("file name %q is not a plain name", n)
		}
		names[n] = true
	}
	return sl.Package.check(names)
}

// loadState reads path; ok is false when the file does not exist.
func loadState(path string) (s state, ok bool, err error) {
	raw, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return state{}, false, nil
	}
	if err != nil {
		return state{}, false, fmt.Errorf("scripts: read state %s: %w", path, err)
	}
	if err := json.Unmarshal(raw, &s); err != nil {
		return state{}, false, corrupt(path, err)
	}
	if err := s.check(); err != nil {
		return state{}, false, corrupt(path, err)
	}
	return s, true, nil
}

func corrupt(path string, err error) error {
	return fmt.Errorf("%w %s: %w; refusing to guess the active slot (inspect the file, or restore it from the device's records)",
		ErrCorruptState, path, err)
}

// saveState replaces path atomically: temporary file, fsync, rename,
// fsync of the directory.
func saveState(path string, s state) error {
	raw, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return fmt.Errorf("scripts: encode state: %w", err)
	}
	if err := writeFileSync(path+".tmp", raw); err != nil {
		return fmt.Errorf("scripts: save state: %w", err)
	}
	if err := os.Rename(path+".tmp", path); err != nil {
		return fmt.Errorf("scripts: save state: %w", err)
	}
	if err := syncDir(filepath.Dir(path)); err != nil {
		return fmt.Errorf("scripts: save state: %w", err)
	}
	return nil
}

// writeFileSync creates or truncates path, writes raw and syncs it.
func writeFileSync(path string, raw []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	_, err = f.Write(raw)
	if err == nil {
		err = f.Sync()
	}
	return errors.Join(err, f.Close())
}
