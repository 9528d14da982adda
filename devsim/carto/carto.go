package carto

import (
	"math/rand/v2"
	"sync"

	"github.com/cloudpillar/cloudpillar/agent/device"
)

// Device is one virtual CARTO system.
type Device struct {
	mu      sync.Mutex
	state   device.CaseState // guarded by mu
	cases   int              // guarded by mu: cases started
	rnd     *rand.Rand       // guarded by mu
	version string
}

var _ device.Device = (*Device)(nil)

// New returns an idle device whose metrics are drawn from seed.
func New(seed uint64) *Device {
	return &Device{
		state:   device.CaseIdle,
		rnd:     rand.New(rand.NewPCG(seed, seed^0x5eed)),
		version: "7.2.1",
	}
}

// CaseState reports whether a patient case is live.
func (d *Device) CaseState() device.CaseState {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.state
}

// StartCase begins a patient case.
func (d *Device) StartCase() {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.state != device.CaseLive {
		d.cases++
	}
	d.state = device.CaseLive
}

// EndCase ends the patient case.
func (d *Device) EndCase() {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.state = device.CaseIdle
}

// Cases counts the cases started.
func (d *Device) Cases() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.cases
}

// Metrics returns the current device metrics.
func (d *Device) Metrics() map[string]any {
	d.mu.Lock()
	defer d.mu.Unlock()
	return map[string]any{
		"softwareVersion":     d.version,
		"catheterTempC":       36.5 + d.rnd.Float64(),
		"magnetFieldStrength": 0.95 + d.rnd.Float64()*0.1,
		"cpuLoadPct":          5 + d.rnd.Float64()*30,
		"casesStarted":        d.cases,
	}
}
