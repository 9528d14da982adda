// Package scripts is the agent's step handler for real hardware: an
// update.Installer that installs a signed package into the inactive of two
// slots and runs the package's own install, activate, health, commit and
// rollback programs (DESIGN.md decision 7, UPDATES.md §1.2 and §5.6, like
// ADU's microsoft/script:1 handler and Mender's state scripts).
//
// Package. The update's files, each already checked against the signed
// manifest's size and SHA-256 by agent/update, must include PackageFile
// (package.json). It names, for each step, an argv array: the program is
// either a bare name looked up on PATH ("sh", "powershell.exe") or a file
// of the package written "./name"; every argument written "./name" must be
// a file of the package too, and no element may climb out of the slot
// ("..") or be an absolute path. A package that breaks these rules is
// refused (ErrBadPackage) before anything is written or run, so every
// program the handler starts is signed content or a program the device
// already trusts. README.md describes the format for integrators.
//
// Slots and state. Config.Dir holds slots/A, slots/B and state.json, which
// is replaced atomically (temporary file, fsync, rename, fsync of the
// directory) before and after every side effect. It records the committed
// slot, the slot on trial and how far its activation got, the previous
// slot, and per slot the update id, the package's steps and files. A state
// file that does not decode or is inconsistent is refused with
// ErrCorruptState: guessing the active slot could make installedUpdateId
// lie.
//
// What ActiveSlot reports, so that update.Record.Recover resolves an
// interrupted step correctly:
//
//   - nothing on trial: the committed slot;
//   - "activating" (recorded before the activate program starts): still
//     the committed slot. After a power loss the Manager waits for the
//     guard and calls Activate again, which runs activate again; if a new
//     install comes first, the half-done activation is undone by the
//     package's rollback program before its slot is overwritten;
//   - "onTrial" (recorded once activate exited 0): the new slot;
//   - "activateFailed" (activate failed and the rollback program could not
//     undo it): the new slot, so the Manager health-checks it, HealthCheck
//     refuses without running anything, and the Manager rolls back,
//     retrying until rollback succeeds. Reporting the old slot would make
//     the Manager record "nothing changed" while the device may be half
//     switched.
//
// Programs run with the slot as working directory, the agent's environment
// plus Config.Env plus CLOUDPILLAR_* variables (README.md), stdin empty,
// and stdout and stderr kept to their last 4 KiB for the log and the
// error. Each run is bounded by Config.Timeout; when it ends, or when the
// step's context ends, the whole process group is killed on Unix (the
// program starts in a group of its own) and the process on Windows.
// Activate does not stop when its context ends: an activation cut short is
// what leaves a device half switched, so it runs to its end or the
// timeout.
//
// Concurrency. The Manager calls one method at a time; a Handler also
// serialises its steps itself, and ActiveSlot never waits for a running
// program. Nothing runs in the background: every process a step starts has
// ended (or been killed) when the step returns.
//
// Imports: the standard library and agent/update.
package scripts
