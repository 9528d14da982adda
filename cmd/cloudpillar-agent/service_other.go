//go:build !windows

package main

import "errors"

// errNotWindows is returned by install and uninstall on other systems.
var errNotWindows = usageError{errors.New("install and uninstall manage the Windows service; " +
	"on Linux install packaging/systemd/cloudpillar-agent.service (see packaging/README.md)")}

// runAsService reports false: only Windows has a service control manager
// to talk to; systemd runs the agent as a plain process.
func runAsService([]string) (int, bool) { return 0, false }

func installService(exe, configPath string) error { return errNotWindows }

func uninstallService() error { return errNotWindows }
