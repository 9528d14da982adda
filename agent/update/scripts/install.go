package scripts

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"

	"github.com/cloudpillar/cloudpillar/agent/update"
)

// InstallToInactive checks the package (refusing a bad one before
// anything is written or run), undoes a half-done activation of the
// inactive slot if a power loss left one, records the slot as installing,
// replaces the slot's contents with files, and runs the package's install
// program there. Only when install exits 0 is the slot recorded as
// installed, so a slot cut short is never activated; repeating the call
// starts over. It refuses while a slot is on trial: the inactive slot is
// then the fallback. ctx ending stops the copy and kills the program.
func (h *Handler) InstallToInactive(ctx context.Context, id update.UpdateID, files []update.StagedFile) error {
	h.op.Lock()
	defer h.op.Unlock()
	p, err := readPackage(files)
	if err != nil {
		return err
	}
	st := h.state()
	if t := st.Trial; t != nil && t.Stage != stageActivating {
		return fmt.Errorf("scripts: slot %s is on trial (%s); commit or roll back before installing", t.Slot, t.Stage)
	}
	if err := h.undoActivation(ctx, st); err != nil {
		return err
	}
	slot := h.state().inactive()
	sl := slotState{Status: statusInstalling, UpdateID: &id, Package: p, Files: names(files)}
	if err := h.setSlot(slot, sl); err != nil {
		return err
	}
	if err := h.fill(ctx, slot, files, p.programs()); err != nil {
		return err
	}
	st = h.state()
	r := run{step: stepInstall, slot: slot, sl: sl, active: st.reported(), prev: st.Active}
	if err := h.exec(ctx, r); err != nil {
		return err
	}
	sl.Status = statusInstalled
	return h.setSlot(slot, sl)
}

// undoActivation runs the rollback program of an activation a power loss
// interrupted (stage activating), so its slot can be overwritten without
// leaving the device half switched.
func (h *Handler) undoActivation(ctx context.Context, st state) error {
	t := st.Trial
	if t == nil {
		return nil
	}
	h.log.Warn("undoing an interrupted activation before installing over its slot", "slot", t.Slot)
	r := run{step: stepRollback, slot: t.Slot, sl: st.Slots[t.Slot], active: st.reported(), prev: st.Active}
	if err := h.exec(ctx, r); err != nil {
		return fmt.Errorf("scripts: undo the interrupted activation of slot %s: %w", t.Slot, err)
	}
	next := st.clone()
	next.Trial = nil
	return h.save(next)
}

func (h *Handler) setSlot(slot string, sl slotState) error {
	next := h.state()
	next.Slots[slot] = sl
	return h.save(next)
}

func names(files []update.StagedFile) []string {
	out := make([]string, 0, len(files))
	for _, f := range files {
		out = append(out, f.Name)
	}
	slices.Sort(out)
	return out
}

// fill empties slot's directory and copies files into it, each synced,
// then syncs the directory and its parent. Files the package runs as
// programs (progs) are made executable.
func (h *Handler) fill(ctx context.Context, slot string, files []update.StagedFile, progs map[string]bool) error {
	dir := h.slotDir(slot)
	if err := os.RemoveAll(dir); err != nil {
		return fmt.Errorf("scripts: clear slot %s: %w", slot, err)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("scripts: slot %s: %w", slot, err)
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return fmt.Errorf("scripts: slot %s: %w", slot, err)
	}
	defer root.Close()
	for _, f := range files {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("scripts: install to slot %s stopped: %w", slot, context.Cause(ctx))
		}
		mode := os.FileMode(0o600)
		if progs[f.Name] {
			mode = 0o700
		}
		if err := copyInto(root, f, mode); err != nil {
			return fmt.Errorf("scripts: install %s to slot %s: %w", f.Name, slot, err)
		}
	}
	if err := errors.Join(syncDir(dir), syncDir(filepath.Dir(dir))); err != nil {
		return fmt.Errorf("scripts: slot %s: %w", slot, err)
	}
	return nil
}

// programs names the package files run as programs (argv[0] "./name").
func (p *pkg) programs() map[string]bool {
	out := map[string]bool{}
	for _, step := range []string{stepInstall, stepActivate, stepHealth, stepCommit, stepRollback} {
		if argv := p.argv(step); len(argv) > 0 {
			if name, ok := slotFile(argv[0]); ok {
				out[name] = true
			}
		}
	}
	return out
}

// copyInto copies f into root under its name and syncs it.
func copyInto(root *os.Root, f update.StagedFile, mode os.FileMode) error {
	in, err := os.Open(f.Path)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := root.OpenFile(f.Name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if err != nil {
		return err
	}
	_, err = io.Copy(out, in)
	if err == nil {
		err = out.Sync()
	}
	return errors.Join(err, out.Close())
}
