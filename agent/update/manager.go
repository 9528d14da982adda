package update

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"
)

// Manager defaults.
const (
	DefaultHealthTimeout = 5 * time.Minute
	DefaultRetryDelay    = 30 * time.Second
)

// ManagerConfig builds a Manager.
type ManagerConfig struct {
	// Verifier checks deployments; required. Its roots are the built-in
	// ones: NewManager replaces them with a persisted rotated set whose
	// version is higher (RootStore).
	Verifier  *Verifier
	Installer Installer  // the device's slots; required
	Gate      Gate       // the patient-first guard; required
	State     StateStore // the persisted Record; required
	Progress  Progress   // download progress; required (NewRecordStore serves both)
	// RootStore persists the root key packages accepted from deployments
	// (rootKeyPackageUrl). Nil: State, if it is a RootStore too (a
	// *RecordStore is); otherwise a deployment naming a root key package
	// fails, since a rotation that cannot be persisted is not applied.
	RootStore RootStore
	// Audit receives every decision (accepted, rejected, paused, resumed,
	// activated, committed, rolled back, downgrade, root rotation) for the
	// append-only audit log; *guard.AuditLog is one. Nil: none.
	Audit Auditor
	// Dir holds downloads while a workflow runs. Required.
	Dir string
	// Client fetches files. Nil: see DownloadConfig.Client.
	Client *http.Client
	// Download tunes retrieval; its Dir, Progress, Gate, Client, Notice and
	// Logger are ignored (the fields above are used).
	Download DownloadConfig
	// Device is reported as deviceUpdate.agent.deviceProperties.
	Device DeviceProperties
	// Report receives each reported-properties patch ({"deviceUpdate":
	// {...}}), always from Run's goroutine. Nil drops them.
	Report func(patch map[string]any)
	// HealthTimeout bounds one health check. Zero: DefaultHealthTimeout.
	HealthTimeout time.Duration
	// RetryDelay is the real-time wait before retrying a failed rollback.
	// Zero: DefaultRetryDelay.
	RetryDelay time.Duration
	// Now is the clock for verification (expiry) and reported times. Nil:
	// time.Now.
	Now    func() time.Time
	Logger *slog.Logger
}

// Manager runs deployments from the deviceUpdate twin component through
// the persisted state machine. HandleDesired and Reported may be called
// from any goroutine; Run owns the state machine.
type Manager struct {
	cfg ManagerConfig
	dl  *Downloader
	log *slog.Logger

	wake chan struct{} // signalled when there is work for Run

	rootStore    RootStore // nil: rotations are refused
	chain        [][]byte  // accepted root key packages, oldest first; owned by Run after NewManager
	rootsProblem string    // why the persisted roots were not (all) used; set by NewManager only

	mu       sync.Mutex
	rec      Record                  // guarded by mu; written only by Run (save)
	verifier *Verifier               // guarded by mu; replaced only by Run (a root rotation)
	next     *ServiceUpdate          // guarded by mu: deployment waiting to start
	starting *Workflow               // guarded by mu: deployment being verified (root key package fetch)
	cancel   bool                    // guarded by mu: cancel the current workflow
	stop     context.CancelCauseFunc // guarded by mu: stops the running step while cancellable
	deferral *Deferral               // guarded by mu
	kick     chan struct{}           // guarded by mu: closed and replaced by Nudge
}

// Deferral is reported while the guard holds a step back.
type Deferral struct {
	Action  string    `json:"action"`
	Reason  string    `json:"reason"`
	RetryAt time.Time `json:"retryAt,omitzero"`
}

// errCancelled stops a step the service cancelled or replaced.
var errCancelled = errors.New("update: workflow cancelled")

// NewManager checks cfg and loads the persisted record. It starts nothing.
func NewManager(cfg ManagerConfig) (*Manager, error) {
	if cfg.Verifier == nil || cfg.Installer == nil || cfg.Gate == nil || cfg.State == nil || cfg.Progress == nil {
		return nil, errors.New("update manager: Verifier, Installer, Gate, State and Progress are required")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	cfg.HealthTimeout = cmp0(cfg.HealthTimeout, DefaultHealthTimeout)
	cfg.RetryDelay = cmp0(cfg.RetryDelay, DefaultRetryDelay)
	m := &Manager{cfg: cfg, log: cfg.Logger.With("subsystem", "update"), wake: make(chan struct{}, 1),
		verifier: cfg.Verifier, kick: make(chan struct{}), rootStore: cfg.RootStore}
	if m.rootStore == nil {
		m.rootStore, _ = cfg.State.(RootStore)
	}
	dc := cfg.Download
	dc.Dir, dc.Progress, dc.Gate, dc.Client, dc.Notice, dc.Logger = cfg.Dir, cfg.Progress, cfg.Gate, cfg.Client, m.notice, m.log
	dc.Nudge = m.kicked
	dl, err := NewDownloader(dc)
	if err != nil {
		return nil, fmt.Errorf("update manager: %w", err)
	}
	m.dl = dl
	rec, ok, err := cfg.State.LoadState()
	if err != nil {
		return nil, fmt.Errorf("update manager: %w", err)
	}
	if !ok {
		rec = Record{Schema: recordSchema, Phase: PhaseIdle}
	}
	m.rec = rec
	m.loadRoots()
	return m, nil
}

// Record returns the current state.
func (m *Manager) Record() Record {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.rec.clone()
}

// HandleDesired takes the desired deviceUpdate component (as decoded from
// the twin, "__t" marker and all) and returns a reported patch to send at
// once, or nil. A new deployment (action 3) starts when the current one is
// at rest, replaces it if it has not begun activating, or else waits for
// it to finish. Cancel (action 255) ends a workflow that has not begun
// activating. A deployment already seen is ignored unless its
// retryTimestamp changed after it ended.
func (m *Manager) HandleDesired(component map[string]any) map[string]any {
	su, ok := parseService(component)
	if !ok {
		return nil
	}
	wf := su.Workflow
	m.mu.Lock()
	defer m.mu.Unlock()
	cur := m.rec
	switch wf.Action {
	case ActionCancel:
		if m.next != nil && (wf.ID == NoDeployment || wf.ID == m.next.Workflow.ID) {
			m.next = nil
		}
		if cur.Cancellable() && (wf.ID == NoDeployment || wf.ID == cur.Workflow.ID) ||
			m.starting != nil && (wf.ID == NoDeployment || wf.ID == m.starting.ID) {
			m.cancelLocked()
		}
		return nil
	case ActionApply:
		if wf.ID == "" || wf.ID == NoDeployment {
			return nil
		}
		if wf.ID == cur.Workflow.ID && (!cur.Phase.AtRest() || wf.RetryTimestamp == cur.Workflow.RetryTimestamp) {
			return nil
		}
		if m.next != nil && m.next.Workflow == wf || m.starting != nil && *m.starting == wf {
			return nil
		}
		m.next = &su
		if cur.Cancellable() || m.starting != nil {
			m.cancelLocked()
		}
		m.signal()
		if cur.Phase.AtRest() {
			return map[string]any{ComponentName: map[string]any{
				"__t": "c", "agent": map[string]any{"state": StateDeploymentInProgress, "workflow": toMap(wf)},
			}}
		}
	}
	return nil
}

func (m *Manager) cancelLocked() {
	m.cancel = true
	if m.stop != nil {
		m.stop(errCancelled)
	}
	m.signal()
}

func (m *Manager) signal() {
	select {
	case m.wake <- struct{}{}:
	default:
	}
}

// parseService reads component.service into a ServiceUpdate; numbers may
// be float64 or json.Number.
func parseService(component map[string]any) (ServiceUpdate, bool) {
	raw, ok := component["service"]
	if !ok || raw == nil {
		return ServiceUpdate{}, false
	}
	b, err := json.Marshal(raw)
	if err != nil {
		return ServiceUpdate{}, false
	}
	var su ServiceUpdate
	if err := json.Unmarshal(b, &su); err != nil {
		return ServiceUpdate{}, false
	}
	return su, true
}

// Run drives the state machine until ctx ends (returning nil) or the
// state cannot be saved (returning the error: no side effect happens
// without its record). It first reconciles the loaded record with the
// installer, which is how a restart after power loss resumes.
func (m *Manager) Run(ctx context.Context) error {
	if err := m.recover(); err != nil {
		return err
	}
	for ctx.Err() == nil {
		if err := m.once(ctx); err != nil && ctx.Err() == nil {
			return err
		}
	}
	return nil
}

func (m *Manager) recover() error {
	rec := m.Record()
	next := rec.Recover(m.cfg.Installer.ActiveSlot(), m.cfg.Now())
	if next.Phase != rec.Phase {
		m.log.Warn("update state recovered after a restart", "from", rec.Phase, "to", next.Phase)
		return m.save(next)
	}
	if rec.Phase.AtRest() {
		m.cleanup(rec)
	}
	m.report()
	return nil
}

// once performs one step, starts a waiting deployment, or waits for work.
func (m *Manager) once(ctx context.Context) error {
	rec := m.Record()
	m.mu.Lock()
	cancel := m.cancel
	m.cancel = false
	m.mu.Unlock()
	if cancel {
		if next, ok := rec.Cancel(m.cfg.Now()); ok {
			m.log.Info("update workflow cancelled", "workflow", rec.Workflow.ID, "phase", rec.Phase)
			return m.save(next)
		}
	}
	if step := rec.Next(); step != StepNone {
		return m.perform(ctx, rec, step)
	}
	m.mu.Lock()
	su := m.next
	m.next = nil
	if su != nil {
		wf := su.Workflow
		m.starting = &wf
	}
	m.mu.Unlock()
	if su != nil {
		return m.start(ctx, *su)
	}
	select {
	case <-ctx.Done():
	case <-m.wake:
	}
	return nil
}

// start rotates the roots if the deployment names a root key package,
// verifies the deployment and records it as started or rejected. A cancel
// or a replacing deployment that arrives meanwhile drops it unrecorded.
func (m *Manager) start(ctx context.Context, su ServiceUpdate) error {
	sctx, done := m.stepContext(ctx)
	defer func() {
		done()
		m.mu.Lock()
		m.starting = nil
		m.mu.Unlock()
	}()
	var err error
	if su.RootKeyPackageURL != "" {
		err = m.rotateRoots(sctx, su.RootKeyPackageURL)
	}
	if sctx.Err() != nil {
		m.log.Info("update deployment dropped before it started", "workflow", su.Workflow.ID, "cause", context.Cause(sctx))
		return nil
	}
	rec, now := m.Record(), m.cfg.Now()
	var man *Manifest
	if err == nil {
		man, err = m.currentVerifier().Verify(su, now, rec.State())
	}
	if errors.Is(err, ReasonRollback) && m.alreadyInstalled(su, rec, now) {
		m.log.Info("update already installed", "workflow", su.Workflow.ID)
		return m.save(rec.AlreadyInstalled(su.Workflow, now))
	}
	if err != nil {
		m.log.Warn("update rejected", "workflow", su.Workflow.ID, "err", err)
		return m.save(rec.Reject(su.Workflow, err, now))
	}
	if man.Provenance.IsDowngrade {
		m.log.Warn("update audit: signed downgrade accepted", "workflow", su.Workflow.ID, "line", man.Line,
			"releaseCounter", man.ReleaseCounter, "installedCounter", man.Provenance.InstalledCounter)
	}
	m.log.Info("update verified", "workflow", su.Workflow.ID, "version", man.UpdateID.Version, "files", len(man.Files))
	m.auditAccepted(su.Workflow, man, now)
	return m.save(rec.Start(man, su, now))
}

// currentVerifier is the Verifier of the roots in force.
func (m *Manager) currentVerifier() *Verifier {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.verifier
}

// alreadyInstalled reports whether su deploys exactly the committed update
// and verifies in every other respect.
func (m *Manager) alreadyInstalled(su ServiceUpdate, rec Record, now time.Time) bool {
	var peek Manifest
	if rec.Installed.UpdateID == nil || json.Unmarshal([]byte(su.UpdateManifest), &peek) != nil ||
		peek.UpdateID != *rec.Installed.UpdateID || rec.Installed.Counters[peek.Line] != peek.ReleaseCounter || peek.ReleaseCounter == 0 {
		return false
	}
	st := rec.State()
	st.Counters[peek.Line] = peek.ReleaseCounter - 1
	_, err := m.currentVerifier().Verify(su, now, st)
	return err == nil
}

// save persists rec, then makes it current, cleans up after a workflow
// that came to rest, and reports.
func (m *Manager) save(rec Record) error {
	if err := m.cfg.State.SaveState(rec); err != nil {
		return fmt.Errorf("update state: %w", err)
	}
	m.mu.Lock()
	prev := m.rec
	m.rec = rec
	if rec.Phase.AtRest() {
		m.deferral = nil
	}
	m.mu.Unlock()
	if rec.Phase != prev.Phase {
		m.log.Info("update phase", "workflow", rec.Workflow.ID, "from", prev.Phase, "to", rec.Phase)
	}
	m.audit(transitionAudit(prev, rec)...)
	if rec.Phase.AtRest() && !prev.Phase.AtRest() {
		m.cleanup(rec)
	}
	m.report()
	return nil
}

// cleanup removes a finished workflow's downloads.
func (m *Manager) cleanup(rec Record) {
	if rec.Manifest == nil {
		return
	}
	for _, f := range rec.Manifest.Files {
		if err := m.dl.Discard(f); err != nil {
			m.log.Warn("update download not removed", "file", f.Name, "err", err)
		}
	}
}
