package update

import (
	"errors"
	"fmt"
	"maps"
	"strings"
	"time"
)

// Phase is where a deployment stands. Its value is persisted: never
// rename one.
type Phase string

// Phases. Idle, Committed, RolledBack, Failed and Cancelled are at rest
// (no step runs); the others are in progress and resume after a restart.
const (
	PhaseIdle               Phase = "idle"               // nothing deployed yet
	PhaseVerified           Phase = "verified"           // manifest accepted; nothing fetched
	PhaseDownloading        Phase = "downloading"        // fetching files (resumable)
	PhaseDownloaded         Phase = "downloaded"         // all files verified on disk
	PhaseInstalling         Phase = "installing"         // writing the inactive slot (repeatable)
	PhaseAwaitingActivation Phase = "awaitingActivation" // staged; waiting for the guard (idle, quiet, window)
	PhaseActivating         Phase = "activating"         // switching slots (reboot)
	PhaseHealthCheck        Phase = "healthCheck"        // new slot active, not yet committed
	PhaseCommitting         Phase = "committing"         // marking the new slot good
	PhaseRollingBack        Phase = "rollingBack"        // returning to the previous slot
	PhaseCommitted          Phase = "committed"          // the update is installed
	PhaseRolledBack         Phase = "rolledBack"         // the previous slot is active again
	PhaseFailed             Phase = "failed"             // rejected or failed before activation; nothing changed
	PhaseCancelled          Phase = "cancelled"          // cancelled before activation; nothing changed
)

// AtRest reports whether no step runs in phase p.
func (p Phase) AtRest() bool {
	switch p {
	case PhaseIdle, PhaseCommitted, PhaseRolledBack, PhaseFailed, PhaseCancelled, "":
		return true
	}
	return false
}

// Step is a side effect the runner performs for a phase.
type Step int

// Steps, in workflow order.
const (
	StepNone        Step = iota
	StepDownload         // fetch and verify every file (guard.Download)
	StepInstall          // Installer.InstallToInactive (guard.Install)
	StepActivate         // Installer.Activate (guard.Activate: idle, quiet, window)
	StepHealthCheck      // Installer.HealthCheck
	StepCommit           // Installer.Commit
	StepRollback         // Installer.Rollback (guard.Install: the case floor, no window)
)

// Attempts of a step that may be interrupted by power loss; counted in the
// record, so a step that kills the device every time cannot loop forever.
const (
	MaxInstallAttempts = 3
	MaxHealthAttempts  = 3
)

// recordSchema is the Record layout version.
const recordSchema = 1

// Installed is what the device runs, as far as updates are concerned.
type Installed struct {
	UpdateID *UpdateID         `json:"updateId,omitempty"` // nil before the first committed update
	Counters map[string]uint64 `json:"counters,omitempty"` // release counter per line (rollback protection)
}

// Record is the persisted install state. The runner saves it before every
// side effect, so after power loss it names the step that may have been
// interrupted; every step is safe to repeat.
type Record struct {
	Schema    int               `json:"schema"`
	Phase     Phase             `json:"phase"`
	Since     time.Time         `json:"since"` // when Phase began
	Workflow  Workflow          `json:"workflow"`
	Manifest  *Manifest         `json:"manifest,omitempty"`
	Downgrade bool              `json:"downgrade,omitempty"` // accepted as a signed downgrade
	FileURLs  map[string]string `json:"fileUrls,omitempty"`
	// PreviousSlot is the active slot when activation began; a different
	// active slot afterwards means the switch happened.
	PreviousSlot    string                `json:"previousSlot,omitempty"`
	InstallAttempts int                   `json:"installAttempts,omitempty"`
	HealthAttempts  int                   `json:"healthAttempts,omitempty"`
	Steps           map[string]StepResult `json:"steps,omitempty"` // this workflow's steps so far
	Result          InstallResult         `json:"result"`          // the last finished workflow's result
	Installed       Installed             `json:"installed"`
}

// State is the verification state the record implies.
func (r Record) State() State { return State{Counters: maps.Clone(r.Installed.Counters)} }

// clone copies r so a transition never changes the caller's maps.
func (r Record) clone() Record {
	r.Installed.Counters = maps.Clone(r.Installed.Counters)
	r.Steps = maps.Clone(r.Steps)
	r.FileURLs = maps.Clone(r.FileURLs)
	r.Result.StepResults = maps.Clone(r.Result.StepResults)
	return r
}

func (r Record) enter(p Phase, now time.Time) Record {
	r.Phase, r.Since = p, now
	return r
}

// Start begins a verified deployment; what is installed carries over.
func (r Record) Start(m *Manifest, su ServiceUpdate, now time.Time) Record {
	next := Record{
		Schema: recordSchema, Workflow: su.Workflow, Manifest: m, Downgrade: m.Provenance.IsDowngrade,
		FileURLs: maps.Clone(su.FileURLs), Result: r.Result, Installed: r.Installed,
	}
	return next.clone().enter(PhaseVerified, now)
}

// Reject records a deployment refused before anything was done.
func (r Record) Reject(wf Workflow, err error, now time.Time) Record {
	next := Record{Schema: recordSchema, Workflow: wf, Installed: r.Installed}
	next = next.clone().enter(PhaseFailed, now)
	next.Result = resultOf(ReasonMalformedManifest, err)
	return next
}

// AlreadyInstalled records a deployment of the update that is already
// committed (ADU's Skipped_UpdateAlreadyInstalled): nothing to do.
func (r Record) AlreadyInstalled(wf Workflow, now time.Time) Record {
	next := Record{Schema: recordSchema, Workflow: wf, Installed: r.Installed}
	next = next.clone().enter(PhaseCommitted, now)
	next.Result = InstallResult{ResultCode: ResultSkippedAlreadyInstalled, ResultDetails: "update: already installed"}
	return next
}

// Next is the step to perform in r's phase.
func (r Record) Next() Step {
	switch r.Phase {
	case PhaseVerified, PhaseDownloading:
		return StepDownload
	case PhaseDownloaded, PhaseInstalling:
		return StepInstall
	case PhaseAwaitingActivation, PhaseActivating:
		return StepActivate
	case PhaseHealthCheck:
		return StepHealthCheck
	case PhaseCommitting:
		return StepCommit
	case PhaseRollingBack:
		return StepRollback
	}
	return StepNone
}

// Cancellable reports whether the workflow may still be cancelled or
// replaced: only before activation begins.
func (r Record) Cancellable() bool {
	switch r.Phase {
	case PhaseVerified, PhaseDownloading, PhaseDownloaded, PhaseInstalling, PhaseAwaitingActivation:
		return true
	}
	return false
}

// Cancel ends a cancellable workflow; ok is false past activation.
func (r Record) Cancel(now time.Time) (next Record, ok bool) {
	if !r.Cancellable() {
		return r, false
	}
	next = r.clone().enter(PhaseCancelled, now)
	next.Result = InstallResult{ResultCode: ResultFailureCancelled, ExtendedResultCode: ReasonCancelled.ExtendedResultCode(),
		ResultDetails: "update: cancelled by the service before activation; nothing changed", StepResults: next.Steps}
	return next, true
}

// Recover reconciles a record loaded after a restart with the installer's
// active slot: an interrupted activation either switched (health check
// next) or did not (wait for the guard again); a device that fell back to
// the previous slot by itself before commit has rolled back.
// An installer that cannot name its active slot ("") changes nothing.
func (r Record) Recover(active string, now time.Time) Record {
	if active == "" {
		return r
	}
	switched := active != r.PreviousSlot
	switch r.Phase {
	case PhaseActivating:
		if switched {
			return r.clone().enter(PhaseHealthCheck, now)
		}
		return r.clone().enter(PhaseAwaitingActivation, now)
	case PhaseHealthCheck, PhaseCommitting:
		if !switched {
			next := r.clone()
			next = next.fail(2, ReasonHealthCheck, fmt.Errorf("device returned to slot %s before commit", active), now)
			return next.enter(PhaseRolledBack, now)
		}
	}
	return r
}

// Enter moves r into the phase of step s before the runner performs it.
// active is the installer's active slot. A step interrupted too often
// ends the workflow instead (install: failed; health check: roll back).
func (r Record) Enter(s Step, active string, now time.Time) Record {
	next := r.clone()
	switch s {
	case StepDownload:
		return next.enter(PhaseDownloading, now)
	case StepInstall:
		if next.InstallAttempts++; next.InstallAttempts > MaxInstallAttempts {
			return next.fail(1, ReasonAttempts, fmt.Errorf("install interrupted %d times", MaxInstallAttempts), now)
		}
		return next.enter(PhaseInstalling, now)
	case StepActivate:
		next.PreviousSlot, next.HealthAttempts = active, 0
		return next.enter(PhaseActivating, now)
	case StepHealthCheck:
		if next.HealthAttempts++; next.HealthAttempts > MaxHealthAttempts {
			return next.rollBack(ReasonAttempts, fmt.Errorf("health check interrupted %d times", MaxHealthAttempts), now)
		}
		return next.enter(PhaseHealthCheck, now)
	case StepCommit:
		return next.enter(PhaseCommitting, now)
	case StepRollback:
		return next.enter(PhaseRollingBack, now)
	}
	return r
}

// Defer returns an activation whose last-moment guard check failed to
// waiting.
func (r Record) Defer(now time.Time) Record {
	if r.Phase != PhaseActivating {
		return r
	}
	return r.clone().enter(PhaseAwaitingActivation, now)
}

// Finish applies the outcome of step s (err nil: success); active is the
// installer's active slot afterwards.
func (r Record) Finish(s Step, err error, active string, now time.Time) Record {
	next := r.clone()
	switch s {
	case StepDownload:
		if err != nil {
			return next.fail(0, ReasonDownload, err, now)
		}
		next.step(0, StepResult{ResultCode: ResultDownloadSuccess, ResultDetails: fmt.Sprintf("%d files verified", len(next.Manifest.Files))})
		return next.enter(PhaseDownloaded, now)
	case StepInstall:
		if err != nil {
			return next.fail(1, ReasonInstall, err, now)
		}
		next.step(1, StepResult{ResultCode: ResultInstallSuccess, ResultDetails: "installed to the inactive slot"})
		return next.enter(PhaseAwaitingActivation, now)
	case StepActivate:
		return next.activated(err, active, now)
	case StepHealthCheck:
		if err != nil {
			return next.rollBack(ReasonHealthCheck, err, now)
		}
		return next.enter(PhaseCommitting, now)
	case StepCommit:
		if err != nil {
			return next.rollBack(ReasonCommit, err, now)
		}
		return next.committed(active, now)
	case StepRollback:
		if err != nil {
			return r // stays rolling back; the runner retries
		}
		return next.enter(PhaseRolledBack, now)
	}
	return r
}

func (r Record) activated(err error, active string, now time.Time) Record {
	switch {
	case active != "" && active != r.PreviousSlot:
		return r.enter(PhaseHealthCheck, now) // switched, even if Activate also complained
	case err == nil:
		err = fmt.Errorf("still on slot %s", active)
	}
	return r.fail(2, ReasonActivate, err, now)
}

func (r Record) committed(active string, now time.Time) Record {
	m := r.Manifest
	id := m.UpdateID
	r.Installed.UpdateID = &id
	if r.Installed.Counters == nil {
		r.Installed.Counters = map[string]uint64{}
	}
	r.Installed.Counters[m.Line] = m.ReleaseCounter
	r.step(2, StepResult{ResultCode: ResultApplySuccess, ResultDetails: "activated and passed its health check"})
	r.Result = InstallResult{ResultCode: ResultApplySuccess,
		ResultDetails: fmt.Sprintf("installed %s %s to slot %s", id.Name, id.Version, active), StepResults: r.Steps}
	return r.enter(PhaseCommitted, now)
}

// fail ends the workflow at step i with nothing changed on the device.
func (r Record) fail(i int, reason Reason, err error, now time.Time) Record {
	res := resultOf(reason, err)
	r.step(i, StepResult{ResultCode: res.ResultCode, ExtendedResultCode: res.ExtendedResultCode, ResultDetails: res.ResultDetails})
	res.StepResults = r.Steps
	r.Result = res
	return r.enter(PhaseFailed, now)
}

// rollBack records the activation step's failure and heads back to the
// previous slot.
func (r Record) rollBack(reason Reason, err error, now time.Time) Record {
	r = r.fail(2, reason, err, now)
	return r.enter(PhaseRollingBack, now)
}

func (r *Record) step(i int, s StepResult) {
	if r.Steps == nil {
		r.Steps = map[string]StepResult{}
	}
	r.Steps[fmt.Sprintf("step_%d", i)] = s
}

// stepDetails describe failures that carry no *Error of their own.
var stepDetails = map[Reason]string{
	ReasonDownload:    "download failed",
	ReasonInstall:     "install to the inactive slot failed",
	ReasonActivate:    "activation did not switch to the new slot",
	ReasonHealthCheck: "the new slot failed its health check; rolled back",
	ReasonCommit:      "the new slot could not be committed; rolled back",
	ReasonAttempts:    "a step kept being interrupted",
}

// maxDetails bounds resultDetails in the twin.
const maxDetails = 512

// resultOf is the failed InstallResult for err: its own *Error's code if
// it has one, else reason's.
func resultOf(reason Reason, err error) InstallResult {
	var e *Error
	if !errors.As(err, &e) {
		e = &Error{Reason: reason, Detail: stepDetails[reason], Err: err}
	}
	res := e.InstallResult()
	if len(res.ResultDetails) > maxDetails {
		res.ResultDetails = strings.ToValidUTF8(res.ResultDetails[:maxDetails], "")
	}
	return res
}
