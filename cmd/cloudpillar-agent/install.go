package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// serviceName is the Windows service's name.
const serviceName = "CloudPillarAgent"

// runInstall is the install subcommand: it validates the config, then
// registers the service to run this executable with --config and the
// config's absolute path.
func runInstall(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("cloudpillar-agent install", flag.ContinueOnError)
	fs.SetOutput(stderr)
	path := fs.String("config", "", "agent config `FILE` the service runs with (required)")
	if err := parseArgs(fs, args); err != nil {
		return helpOrUsage(err)
	}
	if *path == "" {
		return usageError{errors.New("install: --config FILE is required")}
	}
	abs, err := filepath.Abs(*path)
	if err != nil {
		return usageError{fmt.Errorf("install: %w", err)}
	}
	if _, err := loadConfig(abs, overrides{}); err != nil {
		return usageError{err}
	}
	exe, err := os.Executable()
	if err != nil {
		return fmt.Errorf("install: %w", err)
	}
	if err := installService(exe, abs); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "installed service %s: %s --config %s\n", serviceName, exe, abs)
	return nil
}

// runUninstall is the uninstall subcommand.
func runUninstall(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("cloudpillar-agent uninstall", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	if err := parseArgs(fs, args); err != nil {
		return usageError{fmt.Errorf("uninstall: %w", err)}
	}
	if err := uninstallService(); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "removed service %s\n", serviceName)
	return nil
}
