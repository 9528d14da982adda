// Package model ships the agent's IoT Plug and Play data model: a DTDL v2
// interface (cartoagent.json) declaring every property the agent reports or
// accepts and every telemetry field it sends. The agent announces the
// model id on connect so the hub (and any PnP tooling) knows its shape.
//
// The model is embedded; the package is read-only and safe for concurrent
// use.
package model
