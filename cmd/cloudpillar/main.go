// Command cloudpillar is the Cloud Pillar harness: it runs simulated fleets
// against the IoT Hub simulator (sim), serves that simulator standalone for
// lab work (hub), issues lab certificates and update keys (pki), makes,
// signs, serves and deploys software updates (updates) and re-renders
// reports (report).
//
// Exit codes: 0 success (and a passing verdict), 1 failure or a failing
// verdict, 2 usage or input errors.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// errUsage marks errors in how the command was called (exit code 2).
var errUsage = errors.New("usage")

// errVerdictFail marks a run that finished with verdict "fail" (exit code 1).
var errVerdictFail = errors.New("verdict: fail")

const usage = `usage: cloudpillar <command> [flags]

commands:
  sim [SCENARIO.yaml] [--devices N] [--duration D] [--seed S] [--out DIR]
        run a simulated fleet (default: the embedded default scenario) and write a report
  hub [--state DIR] [--hostname H] [--mqtt ADDR] [--https ADDR]
        serve the IoT Hub simulator standalone for lab use
  pki device --id ID --state DIR
        issue a device certificate from a standalone hub's CA
  pki update-keys [--out DIR]
        create lab update keys (root set for agents, manifest signing key)
  updates create|sign|publish|deploy [flags]
        make a signed update, serve its files and deploy it through device twins
  report DIR
        re-render report.html and junit.xml from DIR/summary.json
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(exitCode(err, os.Stderr))
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return fmt.Errorf("%w: no command given\n%s", errUsage, usage)
	}
	switch args[0] {
	case "sim":
		return runSim(ctx, args[1:], stdout, stderr)
	case "hub":
		return runHub(ctx, args[1:], stdout, stderr)
	case "pki":
		return runPKI(ctx, args[1:], stdout, stderr)
	case "report":
		return runReport(ctx, args[1:], stdout, stderr)
	case "updates":
		return runUpdates(ctx, args[1:], stdout, stderr)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	default:
		return fmt.Errorf("%w: unknown command %q\n%s", errUsage, args[0], usage)
	}
}

func exitCode(err error, stderr io.Writer) int {
	switch {
	case err == nil:
		return 0
	case errors.Is(err, errVerdictFail):
		fmt.Fprintln(stderr, "cloudpillar:", err)
		return 1
	case errors.Is(err, errUsage):
		fmt.Fprintln(stderr, "cloudpillar:", err)
		return 2
	default:
		fmt.Fprintln(stderr, "cloudpillar:", err)
		return 1
	}
}
