package carto

import (
	"math/rand/v2"
	"sync"

	"github.com/cloudpillar/cloudpillar/agent/device"
	"github.com/cloudpillar/cloudpillar/agent/update"
)

// Device is one virtual CARTO system.
type Device struct {
	mu      sync.Mutex
	state   device.CaseState // guarded by mu
	cases   int              // guarded by mu: cases started
	rnd     *rand.Rand       // guarded by mu
	slots   *Slots           // guarded by mu: nil until UseSlots
	version string
}

var _ device.Device = (*Device)(nil)

// New returns an idle device whose metrics are drawn from seed.
func New(seed uint64) *Device {
	return &Device{
		state:   device.CaseIdle,
		rnd:     rand.New(rand.NewPCG(seed, seed^0x5eed)),
		version: Version,
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

// Version is the factory software version of a new device.
const Version = "7.2.1"

// UpdateDevice is what a signed update manifest must name to be for a
// virtual CARTO (the agent's update.Config.Device).
var UpdateDevice = update.Device{Manufacturer: "Biosense Webster", Model: "CARTO 3", HardwareID: "c3-v7-rev2"}

// UseSlots gives the device A/B software slots (OpenSlots); its
// softwareVersion metric is then the active slot's version.
func (d *Device) UseSlots(s *Slots) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.slots = s
}

// Slots returns the device's software slots (nil before UseSlots).
func (d *Device) Slots() *Slots {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.slots
}

// Metrics returns the current device metrics.
func (d *Device) Metrics() map[string]any {
	d.mu.Lock()
	defer d.mu.Unlock()
	version := d.version
	if d.slots != nil {
		version = d.slots.ActiveVersion()
	}
	return map[string]any{
		"softwareVersion":     version,
		"catheterTempC":       36.5 + d.rnd.Float64(),
		"magnetFieldStrength": 0.95 + d.rnd.Float64()*0.1,
		"cpuLoadPct":          5 + d.rnd.Float64()*30,
		"casesStarted":        d.cases,
	}
}
