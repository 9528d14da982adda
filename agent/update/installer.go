package update

import "context"

// Installer is the device side of an update (ADU's step handler): A/B
// software slots. The Manager calls one method at a time, from one
// goroutine. Every method must be safe to repeat after power loss, because
// after a restart the Manager repeats the step its record names:
//
//   - InstallToInactive writes files into the inactive slot, replacing
//     whatever a previous attempt left there; it never touches the active
//     slot. It should stop early when ctx ends (a case started).
//   - Activate makes the inactive slot the active one on trial (reboot or
//     switch); the previous slot stays the fallback until Commit.
//   - HealthCheck checks the active slot's software after activation.
//   - Commit marks the active slot good; the old slot is then inactive.
//   - Rollback makes the previous slot active again if the trial slot is
//     active, and does nothing if it already is.
//   - ActiveSlot names the active slot ("A", "B"); after a reboot it must
//     tell whether the switch happened.
type Installer interface {
	InstallToInactive(ctx context.Context, id UpdateID, files []StagedFile) error
	Activate(ctx context.Context) error
	HealthCheck(ctx context.Context) error
	Commit() error
	Rollback() error
	ActiveSlot() string
}

// StagedFile is one verified payload file ready to install.
type StagedFile struct {
	Name string // the manifest's file name
	Path string // where the verified bytes are
}
