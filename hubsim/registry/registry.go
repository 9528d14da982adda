package registry

import (
	"errors"
	"fmt"
	"sort"
	"sync"
	"time"
)

// AuthType is how a device proves its identity (the registry's
// authentication.type, PROTOCOL.md §4).
type AuthType string

// Authentication types IoT Hub knows.
const (
	AuthCertificateAuthority AuthType = "certificateAuthority"
	AuthSelfSigned           AuthType = "selfSigned"
	AuthSAS                  AuthType = "sas"
)

// Status is whether the hub accepts a device's connections.
type Status string

// Device statuses.
const (
	StatusEnabled  Status = "enabled"
	StatusDisabled Status = "disabled"
)

// Sentinel errors callers branch on.
var (
	ErrNotFound = errors.New("device not found")      // IoT Hub 404001 DeviceNotFound
	ErrExists   = errors.New("device already exists") // IoT Hub 409001 DeviceAlreadyExists
)

// Device is one identity in the registry.
type Device struct {
	ID                         string
	Status                     Status
	Auth                       AuthType
	Connected                  bool
	ConnectionStateUpdatedTime time.Time
}

// Registry is the set of device identities.
type Registry struct {
	mu      sync.Mutex
	devices map[string]*Device // guarded by mu
}

// New returns an empty registry.
func New() *Registry {
	return &Registry{devices: make(map[string]*Device)}
}

// Create adds a device. An empty status means enabled; an empty auth type
// means CA-signed X.509.
func (r *Registry) Create(d Device) error {
	if d.ID == "" {
		return errors.New("create device: empty device id")
	}
	if d.Status == "" {
		d.Status = StatusEnabled
	}
	if d.Auth == "" {
		d.Auth = AuthCertificateAuthority
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.devices[d.ID]; ok {
		return fmt.Errorf("create device %q: %w", d.ID, ErrExists)
	}
	d.Connected = false
	r.devices[d.ID] = &d
	return nil
}

// Get returns a copy of the device.
func (r *Registry) Get(id string) (Device, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	d, ok := r.devices[id]
	if !ok {
		return Device{}, fmt.Errorf("device %q: %w", id, ErrNotFound)
	}
	return *d, nil
}

// Delete removes a device; deleting an unknown device is not an error.
func (r *Registry) Delete(id string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.devices, id)
}

// SetStatus enables or disables a device.
func (r *Registry) SetStatus(id string, s Status) error {
	return r.update(id, func(d *Device) { d.Status = s })
}

// SetConnected records a device's connection state at now.
func (r *Registry) SetConnected(id string, connected bool, now time.Time) error {
	return r.update(id, func(d *Device) {
		d.Connected = connected
		d.ConnectionStateUpdatedTime = now
	})
}

func (r *Registry) update(id string, fn func(*Device)) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	d, ok := r.devices[id]
	if !ok {
		return fmt.Errorf("device %q: %w", id, ErrNotFound)
	}
	fn(d)
	return nil
}

// List returns copies of all devices sorted by id.
func (r *Registry) List() []Device {
	r.mu.Lock()
	out := make([]Device, 0, len(r.devices))
	for _, d := range r.devices {
		out = append(out, *d)
	}
	r.mu.Unlock()
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// ConnectedCount returns how many devices are connected now.
func (r *Registry) ConnectedCount() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, d := range r.devices {
		if d.Connected {
			n++
		}
	}
	return n
}
