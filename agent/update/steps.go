package update

import (
	"context"
	"errors"

	"github.com/cloudpillar/cloudpillar/agent/guard"
)

// perform runs one step of rec. Each step saves the record of the phase it
// enters before its side effect and the outcome after it. A step stopped
// by a cancel, a pause or the end of ctx leaves a record that resumes.
func (m *Manager) perform(ctx context.Context, rec Record, step Step) error {
	sctx, done := m.stepContext(ctx)
	defer done()
	var err error
	switch step {
	case StepDownload:
		err = m.download(sctx, rec)
	case StepInstall:
		err = m.install(sctx, rec)
	case StepActivate:
		err = m.activate(ctx, sctx, rec)
	case StepHealthCheck:
		err = m.healthCheck(ctx, rec)
	case StepCommit:
		err = m.commit(rec)
	case StepRollback:
		err = m.rollback(ctx, rec)
	}
	if errors.Is(err, errCancelled) || errors.Is(err, ErrPaused) || ctx.Err() != nil {
		return nil
	}
	return err
}

// stepContext is ctx, also cancelled (cause errCancelled) when the service
// cancels or replaces the workflow while it is cancellable.
func (m *Manager) stepContext(ctx context.Context) (context.Context, func()) {
	sctx, cancel := context.WithCancelCause(ctx)
	m.mu.Lock()
	m.stop = cancel
	if m.cancel {
		cancel(errCancelled)
	}
	m.mu.Unlock()
	return sctx, func() {
		m.mu.Lock()
		m.stop = nil
		m.mu.Unlock()
		cancel(nil)
	}
}

func (m *Manager) download(ctx context.Context, rec Record) error {
	rec = rec.Enter(StepDownload, "", m.cfg.Now())
	if err := m.save(rec); err != nil {
		return err
	}
	for _, f := range rec.Manifest.Files {
		if _, err := m.dl.Fetch(ctx, f, rec.FileURLs[f.URLKey()]); err != nil {
			if ctx.Err() != nil {
				return context.Cause(ctx)
			}
			m.log.Warn("update download failed", "workflow", rec.Workflow.ID, "file", f.Name, "err", err)
			return m.save(rec.Finish(StepDownload, err, "", m.cfg.Now()))
		}
	}
	return m.save(rec.Finish(StepDownload, nil, "", m.cfg.Now()))
}

func (m *Manager) install(ctx context.Context, rec Record) error {
	if err := waitAllowed(ctx, m.cfg.Gate, guard.Install, m.notice); err != nil {
		return err
	}
	rec = rec.Enter(StepInstall, "", m.cfg.Now())
	if err := m.save(rec); err != nil || rec.Phase != PhaseInstalling {
		return err
	}
	files := make([]StagedFile, 0, len(rec.Manifest.Files))
	for _, f := range rec.Manifest.Files {
		files = append(files, StagedFile{Name: f.Name, Path: m.dl.Path(f)})
	}
	ictx, stop := whileAllowed(ctx, m.cfg.Gate, guard.Install)
	err := m.cfg.Installer.InstallToInactive(ictx, rec.Manifest.UpdateID, files)
	stop()
	if err != nil && ictx.Err() != nil {
		cause := context.Cause(ictx)
		if errors.Is(cause, ErrPaused) {
			m.log.Info("update install paused by the guard; it will start over", "workflow", rec.Workflow.ID)
			rec.InstallAttempts-- // a pause is not a failed attempt
			if err := m.save(rec); err != nil {
				return err
			}
		}
		return cause
	}
	return m.save(rec.Finish(StepInstall, err, "", m.cfg.Now()))
}

// activate waits until the guard allows activation (idle, quiet period
// over, window open), records the activation, asks the guard once more,
// and switches slots. Once Activating is saved it is no longer cancelled.
func (m *Manager) activate(ctx, sctx context.Context, rec Record) error {
	if err := waitAllowed(sctx, m.cfg.Gate, guard.Activate, m.notice); err != nil {
		return err
	}
	inst := m.cfg.Installer
	rec = rec.Enter(StepActivate, inst.ActiveSlot(), m.cfg.Now())
	if err := m.save(rec); err != nil {
		return err
	}
	if err := m.cfg.Gate.Check(guard.Activate); err != nil || sctx.Err() != nil {
		return m.save(rec.Defer(m.cfg.Now())) // a case began (or a cancel came) at the last moment
	}
	m.log.Info("update audit: activating", "workflow", rec.Workflow.ID, "version", rec.Manifest.UpdateID.Version,
		"fromSlot", rec.PreviousSlot)
	err := inst.Activate(ctx)
	if err != nil {
		m.log.Warn("update activation reported an error", "workflow", rec.Workflow.ID, "err", err)
	}
	return m.save(rec.Finish(StepActivate, err, inst.ActiveSlot(), m.cfg.Now()))
}

func (m *Manager) healthCheck(ctx context.Context, rec Record) error {
	rec = rec.Enter(StepHealthCheck, "", m.cfg.Now())
	if err := m.save(rec); err != nil || rec.Phase != PhaseHealthCheck {
		return err
	}
	hctx, cancel := context.WithTimeout(ctx, m.cfg.HealthTimeout)
	err := m.cfg.Installer.HealthCheck(hctx)
	cancel()
	if ctx.Err() != nil {
		return ctx.Err() // shutting down: the check runs again after the restart
	}
	if err != nil {
		m.log.Warn("update audit: health check failed; rolling back", "workflow", rec.Workflow.ID, "err", err)
	}
	return m.save(rec.Finish(StepHealthCheck, err, m.cfg.Installer.ActiveSlot(), m.cfg.Now()))
}

func (m *Manager) commit(rec Record) error {
	rec = rec.Enter(StepCommit, "", m.cfg.Now())
	if err := m.save(rec); err != nil {
		return err
	}
	err := m.cfg.Installer.Commit()
	if err != nil {
		m.log.Warn("update audit: commit failed; rolling back", "workflow", rec.Workflow.ID, "err", err)
	} else {
		m.log.Info("update audit: committed", "workflow", rec.Workflow.ID, "version", rec.Manifest.UpdateID.Version)
	}
	return m.save(rec.Finish(StepCommit, err, m.cfg.Installer.ActiveSlot(), m.cfg.Now()))
}

// rollback returns to the previous slot. It disturbs the device, so it
// waits for the case floor (no live case, quiet period over) but not for a
// maintenance window: a device on an unhealthy slot should be back on
// known-good software at the first safe moment. A failed rollback is
// retried after RetryDelay (or at once after a Nudge), forever: there is
// no safe way to give up.
func (m *Manager) rollback(ctx context.Context, rec Record) error {
	if err := waitAllowed(ctx, m.cfg.Gate, guard.Install, m.notice); err != nil {
		return err
	}
	rec = rec.Enter(StepRollback, "", m.cfg.Now())
	if err := m.save(rec); err != nil {
		return err
	}
	if err := m.cfg.Installer.Rollback(); err != nil {
		m.log.Error("update rollback failed; retrying", "workflow", rec.Workflow.ID, "err", err,
			"retryIn", m.cfg.RetryDelay.String())
		return sleepUntil(ctx, m.kicked(), m.cfg.RetryDelay)
	}
	m.log.Info("update audit: rolled back", "workflow", rec.Workflow.ID, "slot", m.cfg.Installer.ActiveSlot())
	return m.save(rec.Finish(StepRollback, nil, m.cfg.Installer.ActiveSlot(), m.cfg.Now()))
}

// notice records a guard deferral (d nil: the step proceeds), and reports
// and audits it when it changed.
func (m *Manager) notice(action guard.Action, d *guard.Decision) {
	var next *Deferral
	if d != nil {
		next = &Deferral{Action: action.String(), Reason: d.Reason, RetryAt: d.RetryAt}
	}
	m.mu.Lock()
	changed := (m.deferral == nil) != (next == nil) || (next != nil && *next != *m.deferral)
	m.deferral = next
	m.mu.Unlock()
	if changed {
		m.report()
		m.auditNotice(action, d)
	}
}
