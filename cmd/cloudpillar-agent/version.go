package main

import (
	"flag"
	"fmt"
	"io"
	"runtime"
	"runtime/debug"
	"strings"
	"text/tabwriter"

	"github.com/cloudpillar/cloudpillar/agent"
)

// buildVersion is what `version` prints.
type buildVersion struct {
	Agent          string // agent.Version
	Module, ModVer string // main module path and version ("(devel)" for a local build)
	Revision, Time string // VCS revision and commit time, when the build recorded them
	Modified       bool   // the working tree had local changes
	Go, OS, Arch   string
}

// buildInfo reads the binary's build information.
func buildInfo() buildVersion {
	v := buildVersion{Agent: agent.Version, Go: runtime.Version(), OS: runtime.GOOS, Arch: runtime.GOARCH}
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return v
	}
	v.Module, v.ModVer, v.Go = bi.Main.Path, bi.Main.Version, bi.GoVersion
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			v.Revision = s.Value
		case "vcs.time":
			v.Time = s.Value
		case "vcs.modified":
			v.Modified = s.Value == "true"
		}
	}
	return v
}

// writeVersion prints v, one item per line.
func writeVersion(w io.Writer, v buildVersion) error {
	rev := "unknown (built without VCS information)"
	if v.Revision != "" {
		rev = strings.TrimSpace(v.Revision + " " + v.Time)
		if v.Modified {
			rev += " (modified)"
		}
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "cloudpillar-agent\t%s\n", v.Agent)
	if v.Module != "" {
		fmt.Fprintf(tw, "module\t%s %s\n", v.Module, v.ModVer)
	}
	fmt.Fprintf(tw, "revision\t%s\n", rev)
	fmt.Fprintf(tw, "go\t%s\n", v.Go)
	fmt.Fprintf(tw, "platform\t%s/%s\n", v.OS, v.Arch)
	return tw.Flush()
}

// runVersion is the version subcommand.
func runVersion(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("cloudpillar-agent version", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	if err := parseArgs(fs, args); err != nil {
		return usageError{fmt.Errorf("version: %w", err)}
	}
	return writeVersion(stdout, buildInfo())
}
