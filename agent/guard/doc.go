// Package guard is the agent's patient-first floor (DESIGN.md decision 6,
// UPDATES.md §5.1-5.2 and §5.7-5.8): it decides whether disruptive work may
// run now, given whether a patient case is live.
//
// Floor. A case state that is live, unknown (device.CaseUnknown, or any
// value the guard does not recognise), never observed, or stale (no
// Observe within the lease) counts as live. While live nothing disruptive
// is allowed: no download, upload, install step, activation or reboot,
// reconnect-forcing renewal, or disruptive direct method. After a case
// ends, work resumes only after a quiet period of continuous idle
// (DefaultQuietPeriod, 10 minutes); a heartbeat gap longer than the lease
// restarts the quiet period, and so does a clock that moves backwards. The
// guard also starts in the quiet period: at boot it cannot know how long
// the device has been idle. No configuration lowers the floor: a quiet
// period below MinQuietPeriod (1 minute) is raised to it and a lease above
// MaxLease (2 minutes) is lowered to it.
//
// Maintenance windows. Activation (reboot, slot switch) additionally
// requires an open maintenance window: a cron-like start in a site time
// zone plus a duration (ParseWindow). With no window configured,
// activation is never allowed; AlwaysOpen is the explicit opt-out. Windows
// are checked only after the case floor passed, so they can narrow what the
// guard allows but never widen it. Time zone data is embedded (time/tzdata)
// so windows work on Windows hosts without a zoneinfo database.
//
// Reporting. Status gives the twin the guard state (idle, live, unknown,
// quiet), its reason, since when, and the number of deferrals. Every
// decision that changes something (defer, resume, allow) and every case
// state change is appended to an in-memory audit trail that Drain hands
// to AuditLog, an fsynced JSON-lines file shipped off the device.
//
// Purity and concurrency. Guard is a pure state machine: time is an
// argument, it starts no goroutines and does no I/O, and it is not safe for
// concurrent use. Gate wraps one Guard with a mutex for the goroutines that
// need it: Wait blocks until an action is allowed (re-checking on Notify,
// Observe or a timer from an injected clock), Check and Changed let running
// pausable work notice a case start and stop within a second. Gate starts
// no goroutines either.
//
// Imports: the standard library and agent/device only.
package guard
