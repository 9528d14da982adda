// Command cloudpillar-agent is the shipped Cloud Pillar device agent: it
// reads a YAML config file, connects to Azure IoT Hub (or a lab hub started
// with `cloudpillar hub`) with the device's X.509 certificate, and runs the
// agent until SIGINT or SIGTERM (or a Windows service stop). Telemetry
// includes the host's metrics (CPU, memory, disk, uptime, network).
//
// Usage:
//
//	cloudpillar-agent --config FILE [--log-level LEVEL] [--store PATH] [--health ADDR]
//	cloudpillar-agent --config FILE --check-config
//	cloudpillar-agent version | --version
//	cloudpillar-agent install --config FILE    (Windows)
//	cloudpillar-agent uninstall                (Windows)
//
// Flags:
//
//	--config FILE    the YAML config file (required to run)
//	--log-level L    overrides logLevel
//	--store PATH     overrides storePath (a relative PATH is against the working directory)
//	--health ADDR    overrides healthAddress; --health "" disables the endpoint
//	--check-config   validates the config and loads its certificates, prints a summary
//	                 (device id, hub, certificate subject and expiry, store path, ...) and
//	                 exits 0; or prints every problem and exits 2. An expired or not yet
//	                 valid certificate fails the check.
//	--version        same as the version subcommand
//
// Subcommands: version prints build information (agent version, module
// version, VCS revision when recorded, Go version, GOOS/GOARCH). install
// registers the Windows service CloudPillarAgent (automatic start; restart
// 5, 30 and 60 s after a failure) to run with the given absolute config
// path, after validating the config; uninstall stops and removes it. Both
// need an elevated prompt; on other systems they fail and point to the
// systemd unit in packaging/systemd.
//
// Config fields (relative paths resolve against the config file's directory;
// unknown keys, wrong types and out-of-range values are errors that name the
// file, line and field, e.g. `agent.yaml:7: telemetryIntervalSeconds: must
// be an integer between 1 and 86400, got "fast"`):
//
//	hubHostName               the hub's host name (required)
//	hubAddress                host:port to dial (default hubHostName:8883)
//	caFile                    PEM bundle of trusted hub CAs (required)
//	certFile, keyFile         the device certificate and key, PEM (required)
//	deviceId                  must equal the certificate's subject CN (required)
//	storePath                 the durable store (default /var/lib/cloudpillar/agent.db,
//	                          on Windows %ProgramData%\CloudPillar\agent.db); its folder is created
//	telemetryIntervalSeconds  sampling period, 1..86400 (default 10)
//	keepAliveSeconds          MQTT keep-alive, 5..1767 (default 30)
//	backoff.baseSeconds       first reconnect delay ceiling, 1..3600 (default 1)
//	backoff.capSeconds        largest reconnect delay ceiling, 1..86400, >= base (default 60)
//	logLevel                  debug|info|warn|error (default info)
//	logFormat                 json|text (default json)
//	logFile                   log file; empty = stderr (journald under systemd)
//	logMaxSizeMB              rotate the log file at this size, 1..1024 (default 10)
//	logMaxFiles               rotated files kept (agent.log.1 .. .N), 1..100 (default 5)
//	healthAddress             loopback host:port of the health endpoint (default
//	                          127.0.0.1:47801); anything not loopback is refused; "" disables
//	                          (a key with no value keeps the default)
//	hostLink                  the local API for the clinical software (agent/device/hostlink);
//	                          without this section the device always reports idle
//	hostLink.socket           Unix socket path (default /run/cloudpillar/hostlink.sock on Linux)
//	hostLink.address          loopback host:port instead of a socket (default on Windows
//	                          127.0.0.1:47800); not together with socket
//	hostLink.tokenFile        file holding the bearer token, mode 0600 (required)
//	hostLink.timeoutSeconds   silence after which case state is unknown (= live), 1..3600 (default 30)
//
// Health endpoint: GET http://127.0.0.1:47801/healthz returns JSON
// {status, connected, pending, lastDelivered, disconnectedSeconds,
// identityExpires, identityExpiresInSeconds, version}. Status is "ok" (200)
// when connected with fewer than 100 messages pending; "degraded" with 200
// when connected with a larger backlog or disconnected for at most 5
// minutes; "degraded" with 503 when disconnected (or never connected since
// start) for more than 5 minutes. See health.go.
//
// Stopping: on SIGINT, SIGTERM or a service stop the agent is cancelled and
// given 10 s to return, the host link and health endpoint are closed, and
// "stopped" is logged with the message counters before the log file is
// closed. Under systemd with Type=notify the agent reports READY=1 once
// running and STOPPING=1 when stopping (sd_notify over NOTIFY_SOCKET).
//
// Exit codes: 0 after a clean stop, 1 on a runtime error, 2 on a usage or
// config error. Logs are structured (log/slog).
//
// This binary imports only agent/..., the standard library, the YAML
// decoder and golang.org/x/sys; the dependency test in the repository root
// enforces it.
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
