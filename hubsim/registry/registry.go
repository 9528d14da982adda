package registry

import (
	"errors"
	"fmt"
	"sort"
	"strings"
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
	AuthNone                 AuthType = "none" // only hub-level policy tokens can connect
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
	ErrInvalid  = errors.New("invalid device")        // IoT Hub 400004 ArgumentInvalid
)

// SymmetricKey holds a SAS device's keys, base64.
type SymmetricKey struct {
	PrimaryKey, SecondaryKey string
}

// X509Thumbprint holds a self-signed device's certificate thumbprints: hex
// SHA-1 (40 digits) or SHA-256 (64 digits) of the DER certificate, any case.
type X509Thumbprint struct {
	PrimaryThumbprint, SecondaryThumbprint string
}

// Device is one identity in the registry.
type Device struct {
	ID           string // device ID, or `{device}/{module}` for a module
	Status       Status
	StatusReason string
	Auth         AuthType
	SymmetricKey SymmetricKey   // AuthSAS
	Thumbprint   X509Thumbprint // AuthSelfSigned
	// GenerationID tells apart identities that reuse an ID after a delete;
	// the registry assigns it on Create.
	GenerationID string
	// ETag changes on every change of the identity (not of its connection
	// state); the registry assigns it.
	ETag                       string
	StatusUpdatedTime          time.Time
	Connected                  bool
	ConnectionStateUpdatedTime time.Time
}

// Identity is the registry ID of a device (moduleID "") or a module.
func Identity(deviceID, moduleID string) string {
	if moduleID == "" {
		return deviceID
	}
	return deviceID + "/" + moduleID
}

// Split splits a registry ID into device and module ("" for a device).
func Split(id string) (deviceID, moduleID string) {
	deviceID, moduleID, _ = strings.Cut(id, "/")
	return deviceID, moduleID
}

// Registry is the set of identities.
type Registry struct {
	mu        sync.Mutex
	devices   map[string]*Device // guarded by mu
	connected int                // devices with Connected set; guarded by mu
	seq       uint64             // last generation/etag number; guarded by mu
	genBase   uint64             // start of generation ids, like .NET ticks
}

// New returns an empty registry.
func New() *Registry {
	// Generation IDs look like IoT Hub's: 18 digits of .NET ticks.
	ticks := uint64(time.Now().UnixNano()/100) + 621355968000000000
	return &Registry{devices: make(map[string]*Device), genBase: ticks}
}

// Create adds an identity. An empty status means enabled; an empty auth
// type means CA-signed X.509; a SAS identity without keys gets fresh ones.
// A module's device must exist.
func (r *Registry) Create(d Device) error {
	if err := d.normalize(); err != nil {
		return fmt.Errorf("create device %q: %w", d.ID, err)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.devices[d.ID]; ok {
		return fmt.Errorf("create device %q: %w", d.ID, ErrExists)
	}
	if dev, mod := Split(d.ID); mod != "" && r.devices[dev] == nil {
		return fmt.Errorf("create module %q: device %q: %w", d.ID, dev, ErrNotFound)
	}
	r.seq++
	d.Connected, d.ConnectionStateUpdatedTime = false, time.Time{}
	d.GenerationID = fmt.Sprintf("%018d", r.genBase+r.seq)
	d.ETag = etag(r.seq)
	r.devices[d.ID] = &d
	return nil
}

// Get returns a copy of the identity.
func (r *Registry) Get(id string) (Device, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	d, ok := r.devices[id]
	if !ok {
		return Device{}, fmt.Errorf("device %q: %w", id, ErrNotFound)
	}
	return *d, nil
}

// Delete removes an identity and, for a device, its modules; deleting an
// unknown ID is not an error.
func (r *Registry) Delete(id string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.deleteLocked(id)
	if _, mod := Split(id); mod == "" {
		for k := range r.devices {
			if strings.HasPrefix(k, id+"/") {
				r.deleteLocked(k)
			}
		}
	}
}

func (r *Registry) deleteLocked(id string) {
	if d, ok := r.devices[id]; ok && d.Connected {
		r.connected--
	}
	delete(r.devices, id)
}

// Update replaces the identity's status and credentials with d's (same
// defaults as Create) and returns the result; connection state,
// generation ID and ID stay.
func (r *Registry) Update(d Device) (Device, error) {
	if err := d.normalize(); err != nil {
		return Device{}, fmt.Errorf("update device %q: %w", d.ID, err)
	}
	var out Device
	err := r.update(d.ID, func(cur *Device) {
		if cur.Status != d.Status {
			cur.StatusUpdatedTime = time.Now()
		}
		cur.Status, cur.StatusReason, cur.Auth = d.Status, d.StatusReason, d.Auth
		cur.SymmetricKey, cur.Thumbprint = d.SymmetricKey, d.Thumbprint
		out = *cur
	})
	return out, err
}

// SetStatus enables or disables an identity.
func (r *Registry) SetStatus(id string, s Status) error {
	return r.update(id, func(d *Device) {
		d.Status, d.StatusUpdatedTime = s, time.Now()
	})
}

// update applies fn to the identity and gives it a new etag.
func (r *Registry) update(id string, fn func(*Device)) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	d, ok := r.devices[id]
	if !ok {
		return fmt.Errorf("device %q: %w", id, ErrNotFound)
	}
	r.seq++
	d.ETag = etag(r.seq)
	fn(d)
	return nil
}

// SetConnected records an identity's connection state at now.
func (r *Registry) SetConnected(id string, connected bool, now time.Time) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	d, ok := r.devices[id]
	if !ok {
		return fmt.Errorf("device %q: %w", id, ErrNotFound)
	}
	switch {
	case connected && !d.Connected:
		r.connected++
	case !connected && d.Connected:
		r.connected--
	}
	d.Connected, d.ConnectionStateUpdatedTime = connected, now
	return nil
}

// List returns copies of all identities sorted by ID.
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

// ConnectedCount returns how many identities are connected now.
func (r *Registry) ConnectedCount() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.connected
}
