package main

import (
	"crypto/tls"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/cloudpillar/cloudpillar/agent"
	"github.com/cloudpillar/cloudpillar/agent/update/scripts"
)

// agentConfig is the agent's updates configuration with the script
// installer (agent/update/scripts) on the configured folder. Making the
// installer creates its folder and state file, so it happens when the
// service starts, never in --check-config.
func (s *updateSettings) agentConfig(log *slog.Logger) (*agent.UpdatesConfig, error) {
	inst, err := scripts.New(scripts.Config{Dir: s.InstallerDir, Timeout: s.InstallerTimeout, Env: s.InstallerEnv,
		Logger: log.With("subsystem", "installer")})
	if err != nil {
		return nil, fmt.Errorf("update installer: %w", err)
	}
	return &agent.UpdatesConfig{Roots: s.Roots, Device: s.Device, Installer: inst, Dir: s.Dir, Client: s.downloadClient()}, nil
}

// downloadClient fetches update payloads trusting DownloadRoots; like the
// update package's default client, it waits at most 30 s for response
// headers (the body's pace is the downloader's minimum-rate check).
func (s *updateSettings) downloadClient() *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.ResponseHeaderTimeout = 30 * time.Second
	tr.TLSClientConfig = &tls.Config{RootCAs: s.DownloadRoots, MinVersion: tls.VersionTLS12}
	return &http.Client{Transport: tr}
}
