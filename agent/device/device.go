package device

// CaseState is whether a patient case is in progress.
type CaseState int

// Case states. Unknown must be treated as live (fail safe, DESIGN.md
// decision 6).
const (
	CaseUnknown CaseState = iota
	CaseIdle
	CaseLive
)

// String names the state as it appears in telemetry and the twin.
func (s CaseState) String() string {
	switch s {
	case CaseIdle:
		return "idle"
	case CaseLive:
		return "live"
	default:
		return "unknown"
	}
}

// Device is what the agent needs from the host medical device.
type Device interface {
	// CaseState reports whether a patient case is live.
	CaseState() CaseState
	// Metrics returns the device's current metrics (names to numbers or
	// strings), included in telemetry. It must not block.
	Metrics() map[string]any
}
