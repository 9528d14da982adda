package carto

import "github.com/cloudpillar/cloudpillar/agent/device"

// LoseCaseState makes the device report its case state as unknown, as a
// CARTO whose case application stopped answering would, until the next
// StartCase or EndCase. The agent's guard counts unknown as live.
func (d *Device) LoseCaseState() {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.state = device.CaseUnknown
}
