package guard

import (
	"fmt"
	"time"
)

// Action is a kind of work the guard rules on.
type Action int

// Actions. Each is denied while a case is live or during the quiet period;
// Activate also needs an open maintenance window.
const (
	Download         Action = iota + 1 // fetch update payloads
	Upload                             // upload logs or files
	Install                            // an install step that writes the inactive slot
	Activate                           // reboot, slot switch or service restart
	Renewal                            // certificate renewal that forces a reconnect
	DisruptiveMethod                   // a direct method such as reboot or applyUpdate
)

var actionNames = map[Action]string{
	Download:         "download",
	Upload:           "upload",
	Install:          "install",
	Activate:         "activate",
	Renewal:          "renewal",
	DisruptiveMethod: "disruptive-method",
}

// String names the action as it appears in the audit log.
func (a Action) String() string {
	if n, ok := actionNames[a]; ok {
		return n
	}
	return fmt.Sprintf("action(%d)", int(a))
}

func (a Action) valid() bool {
	_, ok := actionNames[a]
	return ok
}

// Decision is the guard's answer for one action at one instant.
type Decision struct {
	// Allowed is true when the action may run now.
	Allowed bool
	// Reason says why not (empty when allowed); it is stable text for the
	// twin and the audit log and never contains PHI.
	Reason string
	// RetryAt is the earliest time the action could be allowed, when the
	// guard knows it (end of the quiet period, next window opening). Zero
	// means it depends on when a live case ends.
	RetryAt time.Time
}

// Reasons a Decision denies an action.
const (
	ReasonNeverObserved = "case state never observed"
	ReasonStale         = "case-state heartbeat stale"
	ReasonLive          = "patient case live"
	ReasonUnknown       = "case state unknown"
	ReasonQuiet         = "quiet period after case"
	ReasonNoWindow      = "no maintenance window configured"
	ReasonOutsideWindow = "outside maintenance window"
	ReasonUnknownAction = "unknown action"
)

// DeferredError is returned by Gate.Check when an action may not run now.
type DeferredError struct {
	Action   Action
	Decision Decision
}

func (e *DeferredError) Error() string {
	if e.Decision.RetryAt.IsZero() {
		return fmt.Sprintf("guard: %s deferred: %s", e.Action, e.Decision.Reason)
	}
	return fmt.Sprintf("guard: %s deferred: %s (not before %s)", e.Action, e.Decision.Reason,
		e.Decision.RetryAt.UTC().Format(time.RFC3339))
}
