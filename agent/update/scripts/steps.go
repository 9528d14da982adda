package scripts

import (
	"context"
	"errors"
	"fmt"
)

// Activate switches to the installed inactive slot on trial. It saves
// stage activating, runs the package's activate program, and saves stage
// onTrial once it exits 0; only then does ActiveSlot report the new slot.
// If activate fails, the rollback program undoes it and the error is
// returned with the old slot still active; if rollback fails too, the
// stage is activateFailed and ActiveSlot reports the new slot, so the
// Manager's health check fails and it rolls back. Repeating Activate on a
// slot already on trial does nothing; after a power loss mid-activate it
// runs activate again. The program is not stopped when ctx ends (only by
// the timeout): a half-done switch is worse than a late shutdown.
func (h *Handler) Activate(ctx context.Context) error {
	h.op.Lock()
	defer h.op.Unlock()
	st := h.state()
	slot := st.inactive()
	if t := st.Trial; t != nil {
		switch t.Stage {
		case stageOnTrial:
			return nil
		case stageActivateFailed:
			return fmt.Errorf("scripts: slot %s failed to activate and was not undone; roll back first", slot)
		}
	}
	if s := st.Slots[slot].Status; s != statusInstalled {
		return fmt.Errorf("scripts: slot %s is %s, not installed: nothing to activate", slot, s)
	}
	st.Trial, st.Previous = &trial{Slot: slot, Stage: stageActivating}, st.Active
	if err := h.save(st); err != nil {
		return err
	}
	ctx = context.WithoutCancel(ctx)
	r := run{step: stepActivate, slot: slot, sl: st.Slots[slot], active: st.Active, prev: st.Active}
	if err := h.exec(ctx, r); err != nil {
		return h.activateFailed(ctx, st, err)
	}
	st.Trial.Stage = stageOnTrial
	return h.save(st)
}

// activateFailed undoes a failed activation with the rollback program.
func (h *Handler) activateFailed(ctx context.Context, st state, activateErr error) error {
	slot := st.Trial.Slot
	r := run{step: stepRollback, slot: slot, sl: st.Slots[slot], active: st.Active, prev: st.Active}
	if err := h.exec(ctx, r); err != nil {
		st.Trial.Stage = stageActivateFailed
		return errors.Join(activateErr, fmt.Errorf("scripts: undo the failed activation: %w", err), h.save(st))
	}
	st.Trial = nil
	if err := h.save(st); err != nil {
		return errors.Join(activateErr, err)
	}
	return fmt.Errorf("%w (undone: slot %s is still active)", activateErr, st.Active)
}

// HealthCheck runs the health program of the slot ActiveSlot reports.
// A slot whose activation failed beyond undoing fails without running
// anything. ctx ending kills the program.
func (h *Handler) HealthCheck(ctx context.Context) error {
	h.op.Lock()
	defer h.op.Unlock()
	st := h.state()
	slot := st.reported()
	if t := st.Trial; t != nil && t.Stage == stageActivateFailed {
		return fmt.Errorf("scripts: health (slot %s): its activation failed and was not undone", slot)
	}
	sl := st.Slots[slot]
	if sl.Status != statusInstalled {
		return fmt.Errorf("scripts: health (slot %s): the slot holds no package installed by this handler (%s)", slot, sl.Status)
	}
	return h.exec(ctx, run{step: stepHealth, slot: slot, sl: sl, active: slot, prev: other(slot)})
}

// Commit makes the slot on trial the committed one, after the package's
// commit program (if any) exits 0. With nothing on trial it does nothing,
// so a repeat after a power loss is safe; a power loss before the state is
// saved runs commit again.
func (h *Handler) Commit() error {
	h.op.Lock()
	defer h.op.Unlock()
	st := h.state()
	t := st.Trial
	switch {
	case t == nil:
		return nil
	case t.Stage != stageOnTrial:
		return fmt.Errorf("scripts: commit slot %s: it is %s, not on trial", t.Slot, t.Stage)
	}
	r := run{step: stepCommit, slot: t.Slot, sl: st.Slots[t.Slot], active: t.Slot, prev: st.Active}
	if err := h.exec(context.Background(), r); err != nil {
		return err
	}
	st.Previous, st.Active, st.Trial = st.Active, t.Slot, nil
	return h.save(st)
}

// Rollback runs the rollback program of the package being activated or on
// trial, with CLOUDPILLAR_PREVIOUS_SLOT naming the slot to return to, and
// once it exits 0 makes that slot the active one again and marks the
// abandoned slot as needing a new install. With nothing on trial (already
// back, or committed) it does nothing; a power loss before the state is
// saved runs rollback again.
func (h *Handler) Rollback() error {
	h.op.Lock()
	defer h.op.Unlock()
	st := h.state()
	t := st.Trial
	if t == nil {
		return nil
	}
	r := run{step: stepRollback, slot: t.Slot, sl: st.Slots[t.Slot], active: st.reported(), prev: st.Active}
	if err := h.exec(context.Background(), r); err != nil {
		return err
	}
	sl := st.Slots[t.Slot]
	sl.Status = statusRolledBack
	st.Slots[t.Slot], st.Trial = sl, nil
	h.log.Info("rolled back", "from", t.Slot, "to", st.Active)
	return h.save(st)
}
