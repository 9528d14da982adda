package main

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/cloudpillar/cloudpillar/agent/hub"
)

// Defaults for fields left out of the config file.
const (
	defaultTelemetryIntervalSeconds = 10
	defaultLogLevel                 = "info"
	defaultLogFormat                = "json"
	defaultMQTTPort                 = "8883"
)

// fileConfig is the agent's YAML config file. Relative file paths are
// resolved against the directory holding the config file.
type fileConfig struct {
	HubHostName              string `yaml:"hubHostName"`              // the hub's host name (required)
	HubAddress               string `yaml:"hubAddress"`               // host:port to dial; default hubHostName:8883
	CAFile                   string `yaml:"caFile"`                   // PEM bundle of trusted hub CAs (required)
	CertFile                 string `yaml:"certFile"`                 // device certificate, PEM (required)
	KeyFile                  string `yaml:"keyFile"`                  // device private key, PEM (required)
	DeviceID                 string `yaml:"deviceId"`                 // must equal the certificate's CN (required)
	TelemetryIntervalSeconds int    `yaml:"telemetryIntervalSeconds"` // sampling period; 0 = 10
	LogLevel                 string `yaml:"logLevel"`                 // debug|info|warn|error; "" = info
	LogFormat                string `yaml:"logFormat"`                // text|json; "" = json
}

// config is a validated fileConfig with its files loaded.
type config struct {
	Hub               hub.Config
	TelemetryInterval time.Duration
	LogLevel          slog.Level
	LogFormat         string
}

// loadConfig reads, validates and loads the config file at path. Every
// error names the file and the offending field.
func loadConfig(path string) (*config, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	fc, err := parseConfig(raw)
	if err != nil {
		return nil, fmt.Errorf("config %s: %w", path, err)
	}
	cfg, err := fc.load(filepath.Dir(path))
	if err != nil {
		return nil, fmt.Errorf("config %s: %w", path, err)
	}
	return cfg, nil
}

// parseConfig decodes YAML strictly (unknown fields are errors) and fills
// defaults.
func parseConfig(raw []byte) (fileConfig, error) {
	var fc fileConfig
	dec := yaml.NewDecoder(bytes.NewReader(raw))
	dec.KnownFields(true)
	if err := dec.Decode(&fc); err != nil && !errors.Is(err, io.EOF) {
		return fc, yamlError(err)
	}
	if err := fc.validate(); err != nil {
		return fc, err
	}
	return fc, nil
}

var notFoundRE = regexp.MustCompile(`field (\S+) not found in type \S+`)

// yamlError rewrites the decoder's type errors into field language.
func yamlError(err error) error {
	var te *yaml.TypeError
	if !errors.As(err, &te) {
		return err
	}
	msgs := make([]string, len(te.Errors))
	for i, m := range te.Errors {
		msgs[i] = notFoundRE.ReplaceAllString(m, `unknown field "$1"`)
	}
	return errors.New(strings.Join(msgs, "; "))
}

func (fc *fileConfig) validate() error {
	required := []struct{ name, value string }{
		{"hubHostName", fc.HubHostName},
		{"caFile", fc.CAFile},
		{"certFile", fc.CertFile},
		{"keyFile", fc.KeyFile},
		{"deviceId", fc.DeviceID},
	}
	for _, r := range required {
		if strings.TrimSpace(r.value) == "" {
			return fmt.Errorf("%s is required", r.name)
		}
	}
	if fc.HubAddress == "" {
		fc.HubAddress = net.JoinHostPort(fc.HubHostName, defaultMQTTPort)
	} else if _, _, err := net.SplitHostPort(fc.HubAddress); err != nil {
		return fmt.Errorf("hubAddress %q: want host:port", fc.HubAddress)
	}
	if fc.TelemetryIntervalSeconds < 0 {
		return fmt.Errorf("telemetryIntervalSeconds %d: must be positive", fc.TelemetryIntervalSeconds)
	}
	if fc.TelemetryIntervalSeconds == 0 {
		fc.TelemetryIntervalSeconds = defaultTelemetryIntervalSeconds
	}
	return fc.validateLogging()
}

func (fc *fileConfig) validateLogging() error {
	if fc.LogLevel == "" {
		fc.LogLevel = defaultLogLevel
	}
	if _, err := parseLevel(fc.LogLevel); err != nil {
		return err
	}
	if fc.LogFormat == "" {
		fc.LogFormat = defaultLogFormat
	}
	if fc.LogFormat != "text" && fc.LogFormat != "json" {
		return fmt.Errorf("logFormat %q: want text or json", fc.LogFormat)
	}
	return nil
}

func parseLevel(s string) (slog.Level, error) {
	switch s {
	case "debug":
		return slog.LevelDebug, nil
	case "info":
		return slog.LevelInfo, nil
	case "warn":
		return slog.LevelWarn, nil
	case "error":
		return slog.LevelError, nil
	}
	return 0, fmt.Errorf("logLevel %q: want debug, info, warn or error", s)
}

// load reads the PEM files (relative to dir) and builds the runtime config.
func (fc fileConfig) load(dir string) (*config, error) {
	roots, err := loadRoots(resolve(dir, fc.CAFile), fc.CAFile)
	if err != nil {
		return nil, err
	}
	cert, err := loadDeviceCert(resolve(dir, fc.CertFile), resolve(dir, fc.KeyFile), fc)
	if err != nil {
		return nil, err
	}
	level, _ := parseLevel(fc.LogLevel) // checked by validate
	return &config{
		Hub: hub.Config{
			DeviceID:    fc.DeviceID,
			HostName:    fc.HubHostName,
			Address:     fc.HubAddress,
			RootCAs:     roots,
			Certificate: cert,
		},
		TelemetryInterval: time.Duration(fc.TelemetryIntervalSeconds) * time.Second,
		LogLevel:          level,
		LogFormat:         fc.LogFormat,
	}, nil
}

func resolve(dir, p string) string {
	if filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(dir, p)
}

func loadRoots(path, name string) (*x509.CertPool, error) {
	pemData, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("caFile %q: %w", name, err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pemData) {
		return nil, fmt.Errorf("caFile %q: no certificates found", name)
	}
	return pool, nil
}

// loadDeviceCert loads the key pair and checks that the certificate's
// subject CN is the device id, as IoT Hub's X.509 authentication requires.
func loadDeviceCert(certPath, keyPath string, fc fileConfig) (tls.Certificate, error) {
	pair, err := tls.LoadX509KeyPair(certPath, keyPath)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("certFile %q / keyFile %q: %w", fc.CertFile, fc.KeyFile, err)
	}
	leaf, err := x509.ParseCertificate(pair.Certificate[0])
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("certFile %q: %w", fc.CertFile, err)
	}
	if cn := leaf.Subject.CommonName; cn != fc.DeviceID {
		return tls.Certificate{}, fmt.Errorf("certFile %q is issued to %q (subject CN) but deviceId is %q: they must match", fc.CertFile, cn, fc.DeviceID)
	}
	pair.Leaf = leaf
	return pair, nil
}
