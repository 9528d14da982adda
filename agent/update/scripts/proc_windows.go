//go:build windows

package scripts

import "os/exec"

// killGroup makes stopping cmd (ctx end, timeout) kill its process.
// Processes it started are not killed: that would need a job object.
func killGroup(cmd *exec.Cmd) {
	cmd.Cancel = func() error { return cmd.Process.Kill() }
}

// syncDir does nothing: a directory handle cannot be synced on Windows.
// NTFS journals the rename itself; the file's data was synced before it.
func syncDir(string) error { return nil }
