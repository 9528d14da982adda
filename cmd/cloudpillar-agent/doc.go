// Command cloudpillar-agent is the shipped Cloud Pillar device agent: it
// reads a YAML config file, connects to Azure IoT Hub (or a lab hub started
// with `cloudpillar hub`) with the device's X.509 certificate, or one it
// obtains from the Device Provisioning Service, and runs the agent until
// SIGINT or SIGTERM (or a Windows service stop): telemetry (with the host's
// CPU, memory, disk, uptime and network), the twin, the patient-first
// guard with its audit log, log delivery and signed updates.
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
//	--check-config   validates the config and loads its certificates and update roots,
//	                 prints a summary (device id, hub, certificate subject and expiry,
//	                 store path, guard, log sources, updates, ...) and exits 0; or prints
//	                 every problem and exits 2. An expired or not yet valid certificate
//	                 (with provisioning: bootstrap certificate) fails the check.
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
//	hubHostName               the hub's host name (required, unless provisioning)
//	hubAddress                host:port to dial (default hubHostName:8883; with provisioning
//	                          the assigned hub's port 8883, so set it only to pin a lab hub)
//	caFile                    PEM bundle of trusted hub CAs (required)
//	certFile, keyFile         the device certificate and key, PEM (required, unless provisioning:
//	                          exactly one of the two identities must be configured)
//	deviceId                  must equal the certificate's subject CN (required; with
//	                          provisioning the default is the registration id)
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
//	batchSamples              readings per telemetry message, 1..100 (default 1: each its own)
//	auditLog                  the guard's audit log, JSON lines (default audit.log next to storePath)
//
// Provisioning (DESIGN.md decision 4): instead of certFile and keyFile, a
// provisioning section makes the agent register with DPS using a bootstrap
// (manufacturing) certificate and a CSR for a key it generates and keeps;
// DPS assigns the hub and issues the operational certificate, which is
// renewed at renewAtPercent of its lifetime (not during a patient case,
// unless it expires within urgentMarginHours) and re-provisioned when the
// hub refuses it. Renewals use the bootstrap certificate again.
//
//	provisioning.globalEndpoint     DPS host[:port] (default global.azure-devices-provisioning.net,
//	                                port 8883); the host is the TLS server name
//	provisioning.address            host:port to dial instead (default: globalEndpoint)
//	provisioning.idScope            the DPS id scope (required)
//	provisioning.registrationId     default, and it must equal: the bootstrap certificate's CN
//	provisioning.certFile, keyFile  the bootstrap certificate (with its intermediates) and key (required)
//	provisioning.caFile             CAs trusted for DPS (default: caFile)
//	provisioning.identityDir        the issued identity and device keys, 0700 (default identity/
//	                                next to storePath)
//	provisioning.keyType            ecdsa-p384|ecdsa-p256 (default ecdsa-p384, what DPS issues for)
//	provisioning.renewAtPercent     50..95 (default 80)
//	provisioning.urgentMarginHours  1..720 (default 24)
//	provisioning.timeoutSeconds     one registration, polling included, 10..3600 (default 120)
//
// Guard: the patient-first floor itself (no install, activation, download
// or upload while a case is live or its state unknown) is not configurable.
//
//	guard.quietPeriodMinutes        idle time after a case before held work resumes, 1..1440 (default 10)
//	guard.timeZone                  the site's IANA time zone, e.g. Europe/Berlin (default UTC)
//	guard.windows                   maintenance windows, the only times updates activate; none:
//	                                none until the twin's maintenanceWindows (which replaces
//	                                these) sets some. Each: start, a cron "minute hour
//	                                day-of-month month day-of-week" (required); durationMinutes,
//	                                1..10080 (required); timeZone (default guard.timeZone)
//
// Log delivery, on the uploadLogs direct method or the twin's schedule,
// through the hub's file upload (agent/logship):
//
//	logs.httpsAddress               the hub's HTTPS host:port (default: the hub's host name
//	                                (hubHostName, or the hub DPS assigns) at port 443)
//	logs.bytesPerSecond             upload bandwidth cap, 0..1073741824, 0 = none (default 0)
//	logs.sources                    list of: name (letters, digits, - and _, unique; required),
//	                                kind device|agent|audit|case (required), root (a folder) with
//	                                patterns (file name patterns; default every file) or glob
//	                                (/var/log/carto/*.log), retentionDays 1..3650 (older files
//	                                are never sent; default no limit), raw (true: no redaction)
//	logs.redaction                  list of: name (required, unique), regex (Go RE2 syntax, must
//	                                not match empty text; required), replace (default [REDACTED]);
//	                                added to the built-in patientName, mrn and dateOfBirth patterns
//	logs.defaultRedaction           false drops the built-in patterns (default true)
//
// With a logs section two sources are built in unless a configured source
// has their name or kind: "agent" (logFile and its rotated files, when
// logFile is set) and "audit" (the audit log).
//
// Updates, signed A/B software updates through the twin's deviceUpdate
// component (agent/update), installed by the script installer
// (agent/update/scripts):
//
//	updates.rootsFile               the trusted update root keys, JSON (required)
//	updates.device.manufacturer,    what every update manifest must name (all required)
//	  .model, .hardwareId
//	updates.workDir                 downloads (default updates/ next to storePath)
//	updates.installer.dir           the installer's slots and state (default installer/ next to storePath)
//	updates.installer.timeoutMinutes  one installer program, 1..1440 (default 10)
//	updates.installer.env           extra KEY=VALUE for installer programs (CLOUDPILLAR_* is reserved)
//
// Health endpoint: GET http://127.0.0.1:47801/healthz returns JSON
// {status, connected, pending, lastDelivered, disconnectedSeconds,
// identityExpires, identityExpiresInSeconds, version}; the identity is the
// fixed certificate or the one DPS issued (null until the first
// registration). Status is "ok" (200)
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
