package scenarios

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/cloudpillar/cloudpillar/hubsim/throttle"
)

//go:embed default.yaml
var defaultYAML []byte

// ErrInvalid marks a scenario that failed validation.
var ErrInvalid = errors.New("invalid scenario")

// Scenario is one run's plan.
type Scenario struct {
	Name     string   `yaml:"name"`
	Seed     int64    `yaml:"seed"`
	Devices  int      `yaml:"devices"`
	Sites    int      `yaml:"sites"`
	Duration Duration `yaml:"duration"`
	// Stagger spreads device starts over this window.
	Stagger Duration `yaml:"stagger"`
	// TelemetryIntervalSeconds is each agent's initial sampling period.
	TelemetryIntervalSeconds int `yaml:"telemetryIntervalSeconds"`
	// KeepAliveSeconds is the agents' MQTT keep-alive; it bounds how fast a
	// partition is noticed.
	KeepAliveSeconds int     `yaml:"keepAliveSeconds"`
	Backoff          Backoff `yaml:"backoff"`
	// DrainTimeout bounds the wait, after Duration, for every device to be
	// connected and every queued message delivered.
	DrainTimeout Duration `yaml:"drainTimeout"`
	// Provision makes devices leave the factory with only a bootstrap
	// certificate and provision through the hub's DPS (two-phase X.509).
	Provision bool `yaml:"provision"`
	// LogBytes is the size of each device's CARTO log (default 64 KiB when
	// the scenario requests log uploads).
	LogBytes int `yaml:"logBytes"`
	// TimeScale makes the agents' clock (guard quiet period, lease,
	// maintenance windows) run this many times as fast as real time
	// (DESIGN.md decision 8). Zero or 1: real time.
	TimeScale float64 `yaml:"timeScale"`
	// Guard tunes the agents' patient-first guard.
	Guard Guard `yaml:"guard"`
	// Hub configures the simulated IoT Hub.
	Hub    HubSettings `yaml:"hub"`
	Events []Event     `yaml:"events"`
}

// HubSettings configure the simulated IoT Hub: `hub: {tier: S1, units: 2}`.
type HubSettings struct {
	// Tier makes the hub throttle like an IoT Hub of this tier (S1, S2,
	// S3; F1 the free tier): operation rates with traffic shaping, then
	// 429, and the daily message quota, then 403002. Empty: no throttling.
	Tier string `yaml:"tier"`
	// Units is the number of hub units; rates and quota scale with it.
	// Zero is 1.
	Units int `yaml:"units"`
}

// Throttle is the hub's throttle configuration, nil when off.
func (h HubSettings) Throttle() *throttle.Config {
	if h.Tier == "" {
		return nil
	}
	t, _ := throttle.ParseTier(h.Tier) // validated
	return &throttle.Config{Tier: t, Units: h.Units}
}

func (h *HubSettings) validate() error {
	if h.Tier == "" {
		if h.Units != 0 {
			return fmt.Errorf("hub.units: needs hub.tier, got %d units and no tier", h.Units)
		}
		return nil
	}
	if _, err := throttle.ParseTier(h.Tier); err != nil {
		return fmt.Errorf("hub.tier: must be S1, S2 or S3 (or F1), got %q", h.Tier)
	}
	if h.Units == 0 {
		h.Units = 1
	}
	if _, err := throttle.New(*h.Throttle()); err != nil {
		return fmt.Errorf("hub.units: %d units of %s: must be at least 1 (exactly 1 for F1)", h.Units, h.Tier)
	}
	return nil
}

// Backoff is the agents' reconnect policy.
type Backoff struct {
	Base Duration `yaml:"base"`
	Cap  Duration `yaml:"cap"`
}

// Event is one scheduled action. Exactly one of Partition, Desired, Cases
// and Update is set.
type Event struct {
	At Duration `yaml:"at"`
	// Partition names a site to cut off (a blackhole: no FIN, no RST) for
	// For, after which it heals.
	Partition string   `yaml:"partition"`
	For       Duration `yaml:"for"`
	// Desired is a desired-properties patch pushed to every device's twin.
	Desired map[string]any `yaml:"desired"`
	// Cases starts patient cases on a share of the fleet (chosen from the
	// seed) for For.
	Cases *Cases `yaml:"cases"`
	// Update deploys a signed software update to a share of the fleet.
	Update *Update `yaml:"update"`
	// Logs asks a seeded share of the fleet to upload its device logs.
	Logs *Logs `yaml:"logs"`
	// HubRestart crashes the hub; it is unreachable for For.
	HubRestart bool `yaml:"hubRestart"`
}

// Logs is a log upload request to a share of the fleet.
type Logs struct {
	Share float64 `yaml:"share"` // fraction of the devices, in (0, 1]
}

// Cases are patient cases started together.
type Cases struct {
	Share float64 `yaml:"share"` // fraction of the devices, in (0, 1]
}

// Duration is a time.Duration written as "30s", "2m".
type Duration time.Duration

// UnmarshalYAML parses a Go duration string.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	var s string
	if err := n.Decode(&s); err != nil {
		return fmt.Errorf("line %d: want a duration like \"30s\"", n.Line)
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("line %d: %q is not a duration like \"30s\"", n.Line, s)
	}
	*d = Duration(v)
	return nil
}

// D returns the time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

// Default returns the embedded default scenario.
func Default() (*Scenario, error) {
	return Parse("default.yaml", defaultYAML)
}

// Load reads and validates a scenario file.
func Load(path string) (*Scenario, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	return Parse(filepath.Base(path), b)
}

// Parse decodes and validates a scenario; name is used in error messages.
func Parse(name string, b []byte) (*Scenario, error) {
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	var s Scenario
	if err := dec.Decode(&s); err != nil {
		return nil, fmt.Errorf("%w: scenario %s: %v", ErrInvalid, name, err)
	}
	if err := s.Validate(); err != nil {
		return nil, fmt.Errorf("%w: scenario %s: %v", ErrInvalid, name, err)
	}
	return &s, nil
}

// Validate fills defaults and rejects impossible plans, naming the field.
func (s *Scenario) Validate() error {
	s.fillDefaults()
	switch {
	case s.Devices < 1:
		return fmt.Errorf("devices: must be at least 1, got %d", s.Devices)
	case s.Sites < 1 || s.Sites > s.Devices:
		return fmt.Errorf("sites: must be between 1 and devices (%d), got %d", s.Devices, s.Sites)
	case s.Duration <= 0:
		return fmt.Errorf("duration: must be positive, got %v", s.Duration.D())
	case s.Stagger < 0 || s.Stagger >= s.Duration:
		return fmt.Errorf("stagger: must be in [0, duration), got %v", s.Stagger.D())
	case s.TelemetryIntervalSeconds < 1:
		return fmt.Errorf("telemetryIntervalSeconds: must be at least 1, got %d", s.TelemetryIntervalSeconds)
	case s.KeepAliveSeconds < 2:
		return fmt.Errorf("keepAliveSeconds: must be at least 2, got %d", s.KeepAliveSeconds)
	case s.Backoff.Cap < s.Backoff.Base:
		return fmt.Errorf("backoff.cap: %v is below backoff.base %v", s.Backoff.Cap.D(), s.Backoff.Base.D())
	case s.TimeScale < 0:
		return fmt.Errorf("timeScale: must not be negative, got %v", s.TimeScale)
	case s.Guard.QuietPeriod < 0 || s.Guard.Lease < 0:
		return fmt.Errorf("guard: quietPeriod and lease must not be negative")
	}
	if err := s.Hub.validate(); err != nil {
		return err
	}
	for i, e := range s.Events {
		if err := s.validateEvent(e); err != nil {
			return fmt.Errorf("events[%d].%v", i, err)
		}
	}
	return nil
}

func (s *Scenario) fillDefaults() {
	if s.Name == "" {
		s.Name = "unnamed"
	}
	if s.Sites == 0 {
		s.Sites = 1
	}
	if s.TelemetryIntervalSeconds == 0 {
		s.TelemetryIntervalSeconds = 1
	}
	if s.KeepAliveSeconds == 0 {
		s.KeepAliveSeconds = 10
	}
	if s.Backoff.Base == 0 {
		s.Backoff.Base = Duration(time.Second)
	}
	if s.Backoff.Cap == 0 {
		s.Backoff.Cap = Duration(max(10*time.Second, s.Backoff.Base.D()))
	}
	if s.DrainTimeout == 0 {
		s.DrainTimeout = Duration(2 * time.Minute)
	}
}

func (s *Scenario) validateEvent(e Event) error {
	if e.At < 0 || e.At >= s.Duration {
		return fmt.Errorf("at: %v is outside the run (duration %v)", e.At.D(), s.Duration.D())
	}
	set := 0
	for _, on := range []bool{e.Partition != "", e.Desired != nil, e.Cases != nil, e.Update != nil, e.Logs != nil, e.HubRestart} {
		if on {
			set++
		}
	}
	switch {
	case set > 1:
		return errors.New("partition: an event does one thing: set one of partition, desired, cases, update, logs and hubRestart")
	case e.Logs != nil:
		if e.Logs.Share <= 0 || e.Logs.Share > 1 {
			return fmt.Errorf("logs.share: must be in (0, 1], got %v", e.Logs.Share)
		}
	case e.HubRestart:
		if e.For <= 0 {
			return fmt.Errorf("for: a hub restart needs a positive down time, got %v", e.For.D())
		}
	case e.Update != nil:
		return e.Update.validate()
	case e.Cases != nil:
		if e.Cases.Share <= 0 || e.Cases.Share > 1 {
			return fmt.Errorf("cases.share: must be in (0, 1], got %v", e.Cases.Share)
		}
		if e.For <= 0 {
			return fmt.Errorf("for: patient cases need a positive duration, got %v", e.For.D())
		}
	case e.Partition != "":
		if !s.hasSite(e.Partition) {
			return fmt.Errorf("partition: unknown site %q (sites are %s..%s)", e.Partition, siteName(0), siteName(s.Sites-1))
		}
		if e.For <= 0 {
			return fmt.Errorf("for: a partition needs a positive duration, got %v", e.For.D())
		}
	case e.Desired != nil:
		if len(e.Desired) == 0 {
			return errors.New("desired: empty patch")
		}
		if _, err := json.Marshal(e.Desired); err != nil {
			return fmt.Errorf("desired: not representable as JSON: %v", err)
		}
	default:
		return errors.New("partition: an event needs partition, desired, cases, update, logs or hubRestart")
	}
	return nil
}

func (s *Scenario) hasSite(name string) bool {
	for i := 0; i < s.Sites; i++ {
		if siteName(i) == name {
			return true
		}
	}
	return false
}

// Scale sets a new duration and moves every event (and partition length)
// in proportion, so the scenario's shape survives `--duration`; a set
// TimeScale changes inversely, so the agents' quiet periods keep their
// share of the run too.
func (s *Scenario) Scale(d time.Duration) {
	if s.Duration <= 0 || d <= 0 {
		return
	}
	f := float64(d) / float64(s.Duration)
	scale := func(x Duration) Duration { return Duration(float64(x) * f) }
	for i := range s.Events {
		s.Events[i].At = scale(s.Events[i].At)
		s.Events[i].For = scale(s.Events[i].For)
	}
	s.Stagger = scale(s.Stagger)
	s.Duration = Duration(d)
	if s.TimeScale > 0 { // the agents' quiet periods keep their share of the run
		s.TimeScale /= f
	}
}
