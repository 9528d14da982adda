package main

import (
	"os"
	"path/filepath"
)

// defaultStorePath is where the agent keeps its durable store when the
// config names none: %ProgramData%\CloudPillar\agent.db.
func defaultStorePath() string {
	base := os.Getenv("ProgramData")
	if base == "" {
		base = `C:\ProgramData`
	}
	return filepath.Join(base, "CloudPillar", "agent.db")
}
