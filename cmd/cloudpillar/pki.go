package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/cloudpillar/cloudpillar/internal/testpki"
)

// The state directory a standalone hub keeps (cloudpillar hub --state DIR):
//
//	DIR/ca.pem, DIR/ca-key.pem   the lab CA (testpki.Save)
//	DIR/service-key              the iothubowner shared access key (0600)
//	DIR/hub.json                 where the hub listens (hubInfo)
//	DIR/devices/<id>/            cert.pem, key.pem, agent.yaml per device
const (
	defaultStateDir = "./hubstate"
	hubInfoFile     = "hub.json"
	serviceKeyFile  = "service-key"
	devicesDir      = "devices"
	deviceCertFile  = "cert.pem"
	deviceKeyFile   = "key.pem"
	agentConfigFile = "agent.yaml"
)

// hubInfo is DIR/hub.json: how to reach a standalone hub.
type hubInfo struct {
	HostName                string `json:"hostName"`
	MQTTAddress             string `json:"mqttAddress"`
	HTTPSAddress            string `json:"httpsAddress"`
	CAFile                  string `json:"caFile"`
	ServiceConnectionString string `json:"serviceConnectionString"`
	// DPS, when the state directory holds a lab PKI (pki init).
	DPSAddress                 string `json:"dpsAddress,omitempty"`
	DPSHTTPSAddress            string `json:"dpsHttpsAddress,omitempty"`
	DPSIDScope                 string `json:"dpsIdScope,omitempty"`
	DPSServiceConnectionString string `json:"dpsServiceConnectionString,omitempty"`
}

// agentAddress is the MQTT address an agent should dial: the listen
// address, with the host name in place of an unspecified IP (0.0.0.0).
func (h hubInfo) agentAddress() string {
	host, port, err := net.SplitHostPort(h.MQTTAddress)
	if err != nil {
		return h.MQTTAddress
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		return net.JoinHostPort(h.HostName, port)
	}
	return h.MQTTAddress
}

// agentFile is the cloudpillar-agent config file (cmd/cloudpillar-agent).
type agentFile struct {
	HubHostName              string `yaml:"hubHostName"`
	HubAddress               string `yaml:"hubAddress"`
	CAFile                   string `yaml:"caFile"`
	CertFile                 string `yaml:"certFile"`
	KeyFile                  string `yaml:"keyFile"`
	DeviceID                 string `yaml:"deviceId"`
	StorePath                string `yaml:"storePath"`
	TelemetryIntervalSeconds int    `yaml:"telemetryIntervalSeconds"`
	LogLevel                 string `yaml:"logLevel"`
	LogFormat                string `yaml:"logFormat"`
}

// agentConfigYAML renders an agent config for device id whose files sit in
// deviceDir.
func agentConfigYAML(info hubInfo, id, deviceDir string) ([]byte, error) {
	return yaml.Marshal(agentFile{
		HubHostName:              info.HostName,
		HubAddress:               info.agentAddress(),
		CAFile:                   info.CAFile,
		CertFile:                 filepath.Join(deviceDir, deviceCertFile),
		KeyFile:                  filepath.Join(deviceDir, deviceKeyFile),
		DeviceID:                 id,
		StorePath:                filepath.Join(deviceDir, "agent.db"), // beside its certificate: no root needed in a lab
		TelemetryIntervalSeconds: 10,
		LogLevel:                 "info",
		LogFormat:                "text",
	})
}

// deviceIDSpecials are the non-alphanumeric characters IoT Hub allows in a
// device id (up to 128 ASCII characters).
const deviceIDSpecials = "-.%_*?!(),:=@$'"

// validateDeviceID checks id against IoT Hub's device id rules. "." and
// ".." are refused too: the id names a directory under DIR/devices.
func validateDeviceID(id string) error {
	switch {
	case id == "":
		return errors.New("device id is empty")
	case len(id) > 128:
		return fmt.Errorf("device id is %d characters long; IoT Hub allows 128", len(id))
	case id == "." || id == "..":
		return fmt.Errorf("device id %q is not allowed", id)
	}
	for _, r := range id {
		alnum := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9'
		if !alnum && !strings.ContainsRune(deviceIDSpecials, r) {
			return fmt.Errorf("device id %q: character %q is not allowed (ASCII letters, digits and %s only)", id, r, deviceIDSpecials)
		}
	}
	return nil
}

// pkiUsage lists the pki subcommands.
const pkiUsage = `usage:
  cloudpillar pki init [--out DIR] [--key-type T] [--operational-key-type T] [--force]
        create the lab PKI (root, intermediate, bootstrap and operational issuing CAs)
  cloudpillar pki bootstrap --id REG [--state DIR] [--out DIR] [--key-type T]
        issue a device's bootstrap (manufacturing) certificate, CN = REG
  cloudpillar pki device --id ID [--state DIR]
        issue an operational device certificate from a standalone hub's CA
  cloudpillar pki update-keys [--out DIR] [--force]
        create lab update keys: a root set for agents and a manifest signing key`

// runPKI implements `cloudpillar pki init|bootstrap|device`.
func runPKI(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	const want = "want `pki init`, `pki bootstrap --id REG` or `pki device --id ID --state DIR`"
	if len(args) == 0 {
		return fmt.Errorf("%w: pki: missing subcommand: %s", errUsage, want)
	}
	switch args[0] {
	case "init":
		return runPKIInit(args[1:], stdout, stderr)
	case "bootstrap":
		return runPKIBootstrap(args[1:], stdout, stderr)
	case "device":
		return runPKIDevice(args[1:], stdout, stderr)
	case "update-keys":
		return runPKIUpdateKeys(args[1:], stdout, stderr)
	case "help", "-h", "--help":
		fmt.Fprintln(stdout, pkiUsage)
		return nil
	}
	return fmt.Errorf("%w: pki: unknown subcommand %q: %s", errUsage, args[0], want)
}

func runPKIDevice(args []string, stdout, stderr io.Writer) error {
	flags := flag.NewFlagSet("pki device", flag.ContinueOnError)
	flags.SetOutput(stderr)
	id := flags.String("id", "", "device `ID` (IoT Hub device id; required)")
	state := flags.String("state", defaultStateDir, "hub state `DIR` (as given to `cloudpillar hub --state`)")
	if help, err := parseCommandFlags(flags, args, "pki device"); help || err != nil {
		return err
	}
	if *id == "" {
		return fmt.Errorf("%w: pki device: --id is required", errUsage)
	}
	if err := validateDeviceID(*id); err != nil {
		return fmt.Errorf("%w: pki device: --id: %v", errUsage, err)
	}
	ca, info, err := loadHubState(*state)
	if err != nil {
		return fmt.Errorf("pki device: %w", err)
	}
	cfgPath, err := writeDeviceFiles(ca, info, *state, *id)
	if err != nil {
		return fmt.Errorf("pki device %s: %w", *id, err)
	}
	fmt.Fprintf(stdout, "device %s: certificate, key and agent config written to %s\n", *id, filepath.Dir(cfgPath))
	fmt.Fprintf(stdout, "the hub registers it within a few seconds; run the agent with:\n  cloudpillar-agent --config %s\n", cfgPath)
	return nil
}

// parseCommandFlags parses a subcommand's flags. help is true when -h was
// asked for (usage already printed); positional arguments are refused.
func parseCommandFlags(flags *flag.FlagSet, args []string, name string) (help bool, err error) {
	flags.Usage = func() {
		fmt.Fprintf(flags.Output(), "usage: cloudpillar %s [flags]\n", name)
		flags.PrintDefaults()
	}
	if err := flags.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return true, nil
		}
		return false, fmt.Errorf("%w: %s: %v", errUsage, name, err)
	}
	if flags.NArg() > 0 {
		return false, fmt.Errorf("%w: %s: unexpected argument %q", errUsage, name, flags.Arg(0))
	}
	return false, nil
}

// loadHubState loads the CA and hub.json a hub left in dir.
func loadHubState(dir string) (*testpki.CA, hubInfo, error) {
	notRun := fmt.Errorf("no CA in %s: run `cloudpillar hub --state %s` first", dir, dir)
	if _, err := os.Stat(filepath.Join(dir, testpki.CACertFile)); errors.Is(err, fs.ErrNotExist) {
		return nil, hubInfo{}, notRun
	}
	ca, err := testpki.LoadCA(dir)
	if err != nil {
		return nil, hubInfo{}, err
	}
	info, err := readHubInfo(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, hubInfo{}, fmt.Errorf("no %s in %s: run `cloudpillar hub --state %s` first", hubInfoFile, dir, dir)
	}
	return ca, info, err
}

func readHubInfo(dir string) (hubInfo, error) {
	var info hubInfo
	path := filepath.Join(dir, hubInfoFile)
	raw, err := os.ReadFile(path)
	if err != nil {
		return info, err
	}
	if err := json.Unmarshal(raw, &info); err != nil {
		return info, fmt.Errorf("read %s: %w", path, err)
	}
	return info, nil
}

// writeDeviceFiles issues a certificate for id and writes cert.pem (0644),
// key.pem (0600) and agent.yaml (0644) into DIR/devices/<id>/, returning
// the agent config's absolute path. An existing device is re-issued.
func writeDeviceFiles(ca *testpki.CA, info hubInfo, stateDir, id string) (string, error) {
	abs, err := filepath.Abs(stateDir)
	if err != nil {
		return "", err
	}
	dir := filepath.Join(abs, devicesDir, id)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", err
	}
	certPEM, keyPEM, err := ca.IssueDevice(id)
	if err != nil {
		return "", err
	}
	cfg, err := agentConfigYAML(info, id, dir)
	if err != nil {
		return "", err
	}
	files := []struct {
		name string
		data []byte
		perm os.FileMode
	}{
		{deviceKeyFile, keyPEM, 0o600},
		{deviceCertFile, certPEM, 0o644}, // the hub's scan keys on cert.pem: written after the key
		{agentConfigFile, cfg, 0o644},
	}
	for _, f := range files {
		if err := testpki.WriteFile(filepath.Join(dir, f.name), f.data, f.perm); err != nil {
			return "", err
		}
	}
	return filepath.Join(dir, agentConfigFile), nil
}
