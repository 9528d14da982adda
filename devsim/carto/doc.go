// Package carto is a virtual CARTO 3 electrophysiology mapping system: the
// harness's implementation of the agent's device interface. It has a patient
// case state (idle or live, switched by the scenario) and a telemetry source
// with plausible, seeded metrics.
//
// Slots are its A/B software slots on disk, an agent/update Installer:
// install writes the inactive slot, activation switches to it on trial, a
// health check (which can be made to fail) decides commit or rollback, and
// a power-loss knob stops any step at a named point so tests can reboot
// the device (OpenSlots on the same directory) and check that the agent
// recovers. Whether activation may happen at all is the agent's guard's
// decision, not the device's.
//
// A Device and its Slots are safe for concurrent use.
package carto
