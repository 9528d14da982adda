package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"path/filepath"
)

// options are the command line of a run (no subcommand).
type options struct {
	config      string
	checkConfig bool
	version     bool
	overrides   overrides
}

const usageText = `usage: cloudpillar-agent --config FILE [--log-level LEVEL] [--store PATH] [--health ADDR]
       cloudpillar-agent --config FILE --check-config
       cloudpillar-agent version | --version
       cloudpillar-agent install --config FILE    (Windows: register the service)
       cloudpillar-agent uninstall                (Windows: remove the service)
`

// parseFlags parses a run's flags. A nil *options with a nil error means
// help was printed.
func parseFlags(args []string, stderr io.Writer) (*options, error) {
	fs := flag.NewFlagSet("cloudpillar-agent", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o options
	fs.StringVar(&o.config, "config", "", "agent config `FILE` (YAML; required)")
	level := fs.String("log-level", "", "override logLevel: debug, info, warn or error")
	store := fs.String("store", "", "override storePath with `PATH` (relative to the working directory)")
	health := fs.String("health", "", "override healthAddress with a loopback `ADDR`; \"\" disables the endpoint")
	fs.BoolVar(&o.checkConfig, "check-config", false, "validate the config, print a summary and exit (2 if invalid)")
	fs.BoolVar(&o.version, "version", false, "print build information and exit")
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), usageText)
		fs.PrintDefaults()
	}
	if err := parseArgs(fs, args); err != nil {
		return nil, helpOrUsage(err)
	}
	if o.version {
		return &o, nil
	}
	if o.config == "" {
		return nil, usageError{errors.New("--config FILE is required")}
	}
	var err error
	fs.Visit(func(f *flag.Flag) {
		switch f.Name {
		case "log-level":
			o.overrides.LogLevel = level
		case "store":
			o.overrides.StorePath, err = absFlag(*store)
		case "health":
			o.overrides.HealthAddress = health
		}
	})
	if err != nil {
		return nil, usageError{fmt.Errorf("--store: %w", err)}
	}
	return &o, nil
}

// parseArgs parses args into fs and rejects positional arguments.
func parseArgs(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	return nil
}

// helpOrUsage maps a parse error: nil after help was printed, else a
// usage error.
func helpOrUsage(err error) error {
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	return usageError{err}
}

// absFlag makes a path given on the command line absolute against the
// working directory ("" stays "": the default).
func absFlag(p string) (*string, error) {
	if p != "" {
		var err error
		if p, err = filepath.Abs(p); err != nil {
			return nil, err
		}
	}
	return &p, nil
}
