// Package carto is a virtual CARTO 3 electrophysiology mapping system: the
// harness's implementation of the agent's device interface. It has a patient
// case state (idle or live, switched by the scenario) and a telemetry source
// with plausible, seeded metrics.
//
// A Device is safe for concurrent use.
package carto
