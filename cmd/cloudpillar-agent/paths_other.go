//go:build !windows

package main

// defaultStorePath is where the agent keeps its durable store when the
// config names none; systemd's StateDirectory=cloudpillar creates the folder.
func defaultStorePath() string { return "/var/lib/cloudpillar/agent.db" }
