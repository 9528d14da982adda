//go:build unix

package scripts

import (
	"errors"
	"os"
	"os/exec"
	"syscall"
)

// killGroup starts cmd in a process group of its own and makes stopping it
// (ctx end, timeout) kill the whole group with SIGKILL, so a program's
// children do not outlive it.
func killGroup(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error {
		err := syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		if errors.Is(err, syscall.ESRCH) {
			return os.ErrProcessDone
		}
		return err
	}
}

// syncDir makes a rename or a new file in dir durable.
func syncDir(dir string) error {
	f, err := os.Open(dir)
	if err != nil {
		return err
	}
	return errors.Join(f.Sync(), f.Close())
}
