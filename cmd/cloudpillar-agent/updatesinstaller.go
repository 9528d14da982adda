package main

import (
	"fmt"
	"log/slog"

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
	return &agent.UpdatesConfig{Roots: s.Roots, Device: s.Device, Installer: inst, Dir: s.Dir}, nil
}
