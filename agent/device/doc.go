// Package device is the seam between the agent and the medical device it
// runs beside: whether a patient case is live, and the device's own
// metrics. Real hardware implements it in device/hostlink; the harness's
// virtual CARTO device implements it in devsim/carto.
//
// Implementations must be safe for concurrent use: the agent calls them
// from its telemetry and guard goroutines.
package device
