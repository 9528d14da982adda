package agent

import (
	"errors"
	"log/slog"
	"math/rand/v2"
	"time"

	"github.com/cloudpillar/cloudpillar/agent/backoff"
	"github.com/cloudpillar/cloudpillar/agent/device"
	"github.com/cloudpillar/cloudpillar/agent/guard"
	"github.com/cloudpillar/cloudpillar/agent/hub"
	"github.com/cloudpillar/cloudpillar/agent/model"
	"github.com/cloudpillar/cloudpillar/agent/outbox"
)

// Defaults for Config fields left zero.
const (
	DefaultTelemetryInterval = 10 * time.Second
	DefaultSendTimeout       = 30 * time.Second
	DefaultHeartbeatInterval = 60 * time.Second
	DefaultThrottleFloor     = 10 * time.Second
	DefaultAuthRetryFloor    = 60 * time.Second
)

// Config is everything the agent needs. Zero values take the defaults
// stated on each field.
type Config struct {
	Hub hub.Config // connection settings; DeviceID names the device
	// Identity, if set, makes the agent provision itself through DPS
	// (two-phase X.509) instead of using Hub.Certificate; Hub.HostName and
	// Hub.Certificate then come from the issued identity, and Hub.DeviceID
	// defaults to the registration id.
	Identity *IdentityConfig
	Device   device.Device // the host device; nil = a device that reports nothing and is idle
	// TelemetryInterval is the sampling period until the twin's desired
	// telemetryIntervalSeconds says otherwise. Default 10 s.
	TelemetryInterval time.Duration
	// Guard tunes the patient-first floor (quiet period, maintenance
	// windows); no setting can lower the floor itself.
	Guard guard.Config
	// Updates, if set, runs the deviceUpdate component (agent/update).
	Updates *UpdatesConfig
	// Logs configures log delivery (agent/logship); no sources: off.
	Logs LogsConfig
	// AuditLogPath, if set, is the append-only audit log: every guard
	// decision, every update decision (agent/update: accepted, rejected,
	// paused, activated, committed, rolled back, downgrade, root rotation)
	// and every applyUpdate request, one JSON object per line
	// (guard.AuditEntry). With log delivery on (Logs has sources) it is
	// also the log source "audit" (LogsConfig.Sources), unless a
	// configured source already has that name or the audit kind.
	AuditLogPath string
	// HostMetrics adds the host's CPU, memory, disk, uptime and network
	// figures (gopsutil) to every full telemetry sample. Off in simulation,
	// where every virtual device shares one host.
	HostMetrics bool
	// BatchSamples sends this many readings as one message (fewer
	// messages on metered links); readings wait in memory until the batch
	// is full, a heartbeat goes out, or production stops. 0 or 1: every
	// reading is its own message.
	BatchSamples int
	// HeartbeatInterval is the period of the reduced heartbeat sent while
	// a patient case is live (or its state unknown). Default 60 s.
	HeartbeatInterval time.Duration
	// Boot numbers this run of the agent in message ids
	// (<deviceId>-<boot>-<seq>). Zero = the store's persisted boot counter
	// plus one.
	Boot uint64
	// StorePath is the agent's durable store (a bbolt file): unacknowledged
	// telemetry, reported state and the boot counter survive restarts and
	// power loss. Empty (and no Store) uses a private file in a temporary
	// directory that Close removes: durable only for the agent's lifetime.
	StorePath string
	// Store, if set, is the durable store to use (devsim gives thousands of
	// agents stores in a few shared files); it takes precedence over
	// StorePath and the caller closes it.
	Store *outbox.Store
	// StoreLimits bound unacknowledged telemetry and alerts; zero values
	// take the outbox defaults (100,000 items, 64 MiB).
	StoreLimits outbox.Limits
	// Backoff shapes reconnect delays. Default base 1 s, cap 60 s.
	Backoff backoff.Policy
	// ThrottleFloor is the least wait before redialling after the hub
	// throttled the device (429, 403002). Default 10 s; never below 10 s
	// unless set explicitly for tests.
	ThrottleFloor time.Duration
	// AuthRetryFloor is the least wait before redialling after the hub
	// refused the device's identity. Default 60 s.
	AuthRetryFloor time.Duration
	// SendTimeout bounds one publish or twin request. Default 30 s.
	SendTimeout time.Duration
	// Rand supplies reconnect jitter. Nil = randomly seeded.
	Rand *rand.Rand
	// Logger receives structured logs. Nil discards them.
	Logger *slog.Logger
	// Now is the clock for timestamps. Nil = time.Now.
	Now func() time.Time
}

func (c *Config) validate() error {
	if c.Identity != nil {
		if c.Identity.Dir == "" {
			return errors.New("agent config: identity dir is empty")
		}
		if c.Hub.DeviceID == "" {
			c.Hub.DeviceID = c.Identity.Provision.RegistrationID
		}
	}
	if c.Hub.DeviceID == "" {
		return errors.New("agent config: device id is empty")
	}
	if c.Device == nil {
		c.Device = idleDevice{}
	}
	if c.TelemetryInterval <= 0 {
		c.TelemetryInterval = DefaultTelemetryInterval
	}
	if c.HeartbeatInterval <= 0 {
		c.HeartbeatInterval = DefaultHeartbeatInterval
	}
	if c.Hub.ModelID == "" {
		c.Hub.ModelID = model.ID
	}
	if c.ThrottleFloor <= 0 {
		c.ThrottleFloor = DefaultThrottleFloor
	}
	if c.AuthRetryFloor <= 0 {
		c.AuthRetryFloor = DefaultAuthRetryFloor
	}
	if c.SendTimeout <= 0 {
		c.SendTimeout = DefaultSendTimeout
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Hub.Logger == nil {
		c.Hub.Logger = c.Logger.With("device", c.Hub.DeviceID, "subsystem", "hub")
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return nil
}

type idleDevice struct{}

func (idleDevice) CaseState() device.CaseState { return device.CaseIdle }
func (idleDevice) Metrics() map[string]any     { return nil }
