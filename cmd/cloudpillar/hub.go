package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/cloudpillar/cloudpillar/hubsim"
	"github.com/cloudpillar/cloudpillar/hubsim/dps"
	"github.com/cloudpillar/cloudpillar/hubsim/registry"
	"github.com/cloudpillar/cloudpillar/hubsim/sas"
	"github.com/cloudpillar/cloudpillar/hubsim/throttle"
	"github.com/cloudpillar/cloudpillar/internal/testpki"
)

// hubScanInterval is how often a standalone hub looks for devices that
// `cloudpillar pki device` created.
const hubScanInterval = 2 * time.Second

// hubCloseTimeout bounds the hub's shutdown after ctx ends.
const hubCloseTimeout = 10 * time.Second

// hubFlags are the options of `cloudpillar hub`.
type hubFlags struct {
	state, hostName, mqttAddr, httpsAddr string
	dpsMQTT, dpsHTTPS                    string
	register                             []string
	throttle                             *throttle.Config // --tier, --units; nil: off
}

func parseHubFlags(args []string, stderr io.Writer) (f hubFlags, help bool, err error) {
	flags := flag.NewFlagSet("hub", flag.ContinueOnError)
	flags.SetOutput(stderr)
	flags.StringVar(&f.state, "state", defaultStateDir, "state `DIR`: CA, service key, hub.json, devices/, blobs/, hub.db (devices and twins, kept across restarts)")
	flags.StringVar(&f.hostName, "hostname", hubsim.DefaultHostName, "the hub's host name (MQTT username, TLS server name)")
	flags.StringVar(&f.mqttAddr, "mqtt", "127.0.0.1:8883", "MQTT/TLS listen `ADDR`")
	flags.StringVar(&f.httpsAddr, "https", "127.0.0.1:443", "HTTPS listen `ADDR` (service REST API, file upload, blobs, /_sim/)")
	flags.StringVar(&f.dpsMQTT, "dps-mqtt", "127.0.0.1:8884", "DPS MQTT/TLS listen `ADDR` (served when DIR holds a lab PKI: cloudpillar pki init --out DIR)")
	flags.StringVar(&f.dpsHTTPS, "dps-https", "127.0.0.1:8443", "DPS service REST API listen `ADDR` (enrollments); empty: off")
	register := flags.String("register", "", "comma-separated device `IDs` to register at start")
	tier := flags.String("tier", "", "throttle like an IoT Hub of `TIER` S1, S2 or S3 (F1: free): operation rates with traffic shaping, then 429; the daily message quota, then 403002 (default: off)")
	units := flags.Int("units", 1, "hub `N` units for --tier (rates and quota scale with units)")
	if help, err = parseCommandFlags(flags, args, "hub"); help || err != nil {
		return f, help, err
	}
	if f.throttle, err = parseTierFlags(*tier, *units); err != nil {
		return f, false, err
	}
	for _, id := range strings.Split(*register, ",") {
		if id = strings.TrimSpace(id); id == "" {
			continue
		}
		if err := validateDeviceID(id); err != nil {
			return f, false, fmt.Errorf("%w: hub: --register: %v", errUsage, err)
		}
		f.register = append(f.register, id)
	}
	return f, false, nil
}

// parseTierFlags turns --tier and --units into the hub's throttle (nil
// without --tier).
func parseTierFlags(tier string, units int) (*throttle.Config, error) {
	if tier == "" {
		if units != 1 {
			return nil, fmt.Errorf("%w: hub: --units needs --tier", errUsage)
		}
		return nil, nil
	}
	t, err := throttle.ParseTier(tier)
	if err != nil {
		return nil, fmt.Errorf("%w: hub: --tier: %v", errUsage, err)
	}
	if units < 1 {
		return nil, fmt.Errorf("%w: hub: --units: must be at least 1, got %d", errUsage, units)
	}
	cfg := &throttle.Config{Tier: t, Units: units}
	if _, err := throttle.New(*cfg); err != nil { // F1 has one unit
		return nil, fmt.Errorf("%w: hub: --units: %v", errUsage, err)
	}
	return cfg, nil
}

// runHub implements `cloudpillar hub`: it serves hubsim standalone on the
// CA kept in the state directory until ctx ends. The hub keeps its state
// there too (hubsim Config.StateDir: DIR/hub.db and DIR/blobs), so starting
// twice on the same directory keeps all devices, twins, C2D queues and
// event counts.
func runHub(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	f, help, err := parseHubFlags(args, stderr)
	if help || err != nil {
		return err
	}
	dir, err := filepath.Abs(f.state)
	if err != nil {
		return fmt.Errorf("hub: --state: %w", err)
	}
	log := slog.New(slog.NewTextHandler(stderr, nil))
	h, info, err := startHub(dir, f, log)
	if err != nil {
		return fmt.Errorf("hub: %w", err)
	}
	defer closeHub(h, log)
	reg := &hubRegistrar{hub: h, log: log, seen: map[string]bool{}}
	for _, id := range f.register {
		reg.register(id)
	}
	reg.scan(dir)
	if err := writeHubInfo(dir, info); err != nil {
		return fmt.Errorf("hub: %w", err)
	}
	printHubHelp(stdout, dir, info, f.throttle)
	reg.poll(ctx, dir)
	log.Info("stopping hub")
	return nil
}

// startHub loads or creates the CA and service key in dir and starts a hub
// on them; info describes where it listens.
func startHub(dir string, f hubFlags, log *slog.Logger) (*hubsim.Hub, hubInfo, error) {
	ca, err := loadOrCreateCA(dir, log)
	if err != nil {
		return nil, hubInfo{}, err
	}
	key, err := loadOrCreateServiceKey(filepath.Join(dir, serviceKeyFile))
	if err != nil {
		return nil, hubInfo{}, err
	}
	cfg := hubsim.Config{HostName: f.hostName, MQTTAddr: f.mqttAddr, HTTPSAddr: f.httpsAddr,
		StateDir: dir, CA: ca, Policies: hubPolicies(key), Logger: log, Throttle: f.throttle}
	if err := withDPS(&cfg, dir, f); err != nil {
		return nil, hubInfo{}, err
	}
	h, err := hubsim.New(cfg)
	if err != nil {
		return nil, hubInfo{}, err
	}
	if err := h.Start(); err != nil {
		closeHub(h, log)
		return nil, hubInfo{}, err
	}
	info := hubInfo{
		HostName:                h.HostName(),
		MQTTAddress:             h.MQTTAddr(),
		HTTPSAddress:            h.HTTPSAddr(),
		CAFile:                  filepath.Join(dir, testpki.CACertFile),
		ServiceConnectionString: h.ServiceConnectionString(),
	}
	if d := h.DPS(); d != nil {
		info.DPSAddress, info.DPSHTTPSAddress, info.DPSIDScope = h.DPSAddr(), d.HTTPSAddr(), h.IDScope()
		info.DPSServiceConnectionString = d.ServiceConnectionString()
	}
	return h, info, nil
}

// withDPS turns on the hub's Device Provisioning Service when dir holds a
// lab PKI: the hub then trusts the lab's operational CA only, and DPS has
// an enrollment group trusting the bootstrap CA with CSR issuance on.
func withDPS(cfg *hubsim.Config, dir string, f hubFlags) error {
	if !testpki.HasLab(dir) {
		return nil
	}
	lab, err := testpki.LoadLabPKI(dir)
	if err != nil {
		return err
	}
	key, err := loadOrCreateServiceKey(filepath.Join(dir, dpsServiceKeyFile))
	if err != nil {
		return err
	}
	cfg.CA = lab.Operational
	cfg.DPS = &hubsim.DPSConfig{PKI: lab, Options: dps.Config{Addr: f.dpsMQTT, HTTPSAddr: f.dpsHTTPS, ServiceKey: key}}
	return nil
}

// dpsServiceKeyFile keeps the DPS provisioningserviceowner key (0600).
const dpsServiceKeyFile = "dps-service-key"

// hubPolicies are IoT Hub's built-in policies, iothubowner keyed with the
// service key kept in the state directory (so the connection string in
// hub.json survives restarts); the others get fresh keys each start.
func hubPolicies(ownerKey string) []sas.Policy {
	policies := sas.DefaultPolicies()
	for i := range policies {
		if policies[i].Name == sas.PolicyOwner {
			policies[i].PrimaryKey = ownerKey
		}
	}
	return policies
}

func closeHub(h *hubsim.Hub, log *slog.Logger) {
	ctx, cancel := context.WithTimeout(context.Background(), hubCloseTimeout)
	defer cancel()
	if err := h.Close(ctx); err != nil {
		log.Warn("hub close", "err", err)
	}
}

// loadOrCreateCA loads the CA saved in dir, or creates and saves one.
func loadOrCreateCA(dir string, log *slog.Logger) (*testpki.CA, error) {
	_, err := os.Stat(filepath.Join(dir, testpki.CACertFile))
	if err == nil {
		return testpki.LoadCA(dir)
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("load CA: %w", err)
	}
	ca, err := testpki.NewCA("Cloud Pillar lab hub CA")
	if err != nil {
		return nil, err
	}
	if err := ca.Save(dir); err != nil {
		return nil, err
	}
	log.Info("created lab CA", "file", filepath.Join(dir, testpki.CACertFile))
	return ca, nil
}

// loadOrCreateServiceKey returns the base64 shared access key in path,
// generating 32 random bytes into it (0600) the first time.
func loadOrCreateServiceKey(path string) (string, error) {
	raw, err := os.ReadFile(path)
	if err == nil {
		key := strings.TrimSpace(string(raw))
		if b, err := base64.StdEncoding.DecodeString(key); err != nil || len(b) == 0 {
			return "", fmt.Errorf("service key %s: not base64", path)
		}
		return key, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return "", fmt.Errorf("service key: %w", err)
	}
	secret := make([]byte, 32)
	rand.Read(secret) // never fails (crypto/rand, Go 1.24+)
	key := base64.StdEncoding.EncodeToString(secret)
	if err := testpki.WriteFile(path, []byte(key+"\n"), 0o600); err != nil {
		return "", err
	}
	return key, nil
}

func writeHubInfo(dir string, info hubInfo) error {
	raw, err := json.MarshalIndent(info, "", "  ")
	if err != nil {
		return err
	}
	return testpki.WriteFile(filepath.Join(dir, hubInfoFile), append(raw, '\n'), 0o600) // holds the service key
}

// hubRegistrar registers devices in the hub's registry, each once.
type hubRegistrar struct {
	hub  *hubsim.Hub
	log  *slog.Logger
	seen map[string]bool // ids already handled; owned by runHub's goroutine
}

func (r *hubRegistrar) register(id string) {
	if r.seen[id] {
		return
	}
	r.seen[id] = true
	if err := r.hub.CreateDevice(id); err != nil && !errors.Is(err, registry.ErrExists) {
		r.log.Warn("register device", "device", id, "err", err)
		return
	}
	r.log.Info("device registered", "device", id)
}

// scan registers every DIR/devices/<id>/ holding a certificate.
func (r *hubRegistrar) scan(dir string) {
	entries, err := os.ReadDir(filepath.Join(dir, devicesDir))
	if err != nil {
		return // no devices yet
	}
	for _, e := range entries {
		id := e.Name()
		if !e.IsDir() || r.seen[id] || validateDeviceID(id) != nil {
			continue
		}
		if _, err := os.Stat(filepath.Join(dir, devicesDir, id, deviceCertFile)); err == nil {
			r.register(id)
		}
	}
}

// poll scans dir every hubScanInterval until ctx ends.
func (r *hubRegistrar) poll(ctx context.Context, dir string) {
	t := time.NewTicker(hubScanInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			r.scan(dir)
		}
	}
}

// printHubHelp tells the user where the hub listens, how it throttles and
// how to point an agent at it.
func printHubHelp(w io.Writer, dir string, info hubInfo, tier *throttle.Config) {
	example, _ := agentConfigYAML(info, "<ID>", filepath.Join(dir, devicesDir, "<ID>"))
	fmt.Fprintf(w, `Cloud Pillar lab hub %q
  MQTT/TLS  %s
  HTTPS     %s (service REST API, file upload, blobs, /_sim/)
  CA        %s
  state     %s (hub.json holds the service connection string; hub.db the devices and twins)
  tier      %s

Add a device (registered here within %v) and run its agent:
  cloudpillar pki device --id <ID> --state %s
  cloudpillar-agent --config %s

The agent config pki writes looks like this:
%s
Ctrl-C stops the hub.
`, info.HostName, info.MQTTAddress, info.HTTPSAddress, info.CAFile, dir, hubTierLine(tier), hubScanInterval,
		dir, filepath.Join(dir, devicesDir, "<ID>", agentConfigFile), hubIndent(string(example), "  "))
}

// hubTierLine says which IoT Hub tier the hub throttles like, if any.
func hubTierLine(cfg *throttle.Config) string {
	if cfg == nil {
		return "off (--tier S1|S2|S3 --units N turns IoT Hub throttling on)"
	}
	lim, err := throttle.New(*cfg)
	if err != nil {
		return "invalid: " + err.Error() // parseTierFlags validated it
	}
	c := lim.Config()
	return fmt.Sprintf("%s x %d: %.0f D2C sends/s (shaped up to %v, then the connection is closed), "+
		"%.0f twin updates/s, %d messages a day (metered in %d-byte chunks)",
		c.Tier, c.Units, lim.Rate(throttle.D2C), c.ShapingDelay, lim.Rate(throttle.TwinUpdates), c.DailyQuota,
		throttle.MeterSize(c.Tier))
}

func hubIndent(s, prefix string) string {
	lines := strings.SplitAfter(strings.TrimSuffix(s, "\n"), "\n")
	return prefix + strings.Join(lines, prefix) + "\n"
}
