//go:build !unix && !windows

package scripts

import "os/exec"

// killGroup keeps exec's default: stopping cmd kills its process.
func killGroup(*exec.Cmd) {}

// syncDir does nothing where directories cannot be synced.
func syncDir(string) error { return nil }
