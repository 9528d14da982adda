package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"
)

// usageError marks a mistake in how the agent was invoked or configured
// (exit code 2).
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

func main() {
	if code, ok := runAsService(os.Args[1:]); ok {
		os.Exit(code)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(exitCode(err, os.Stderr))
}

// exitCode reports err on stderr and maps it to the process exit code.
func exitCode(err error, stderr io.Writer) int {
	if err == nil {
		return 0
	}
	fmt.Fprintln(stderr, "cloudpillar-agent:", err)
	if errors.As(err, new(usageError)) {
		return 2
	}
	return 1
}

// run dispatches a subcommand or runs the agent until ctx ends.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) > 0 {
		switch args[0] {
		case "version":
			return runVersion(args[1:], stdout)
		case "install":
			return runInstall(args[1:], stdout, stderr)
		case "uninstall":
			return runUninstall(args[1:], stdout)
		}
	}
	opts, err := parseFlags(args, stderr)
	if err != nil || opts == nil {
		return err
	}
	if opts.version {
		return writeVersion(stdout, buildInfo())
	}
	cfg, err := loadConfig(opts.config, opts.overrides)
	if err != nil {
		return usageError{err}
	}
	if opts.checkConfig {
		return checkConfig(stdout, cfg, time.Now())
	}
	return serve(ctx, cfg, stderr)
}
