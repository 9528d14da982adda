package hubsim

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/cloudpillar/cloudpillar/hubsim/registry"
	"github.com/cloudpillar/cloudpillar/hubsim/sas"
	"github.com/cloudpillar/cloudpillar/hubsim/twinstore"
)

// AddDevice registers an identity of any authentication type (a module
// when d.ID is `{device}/{module}`) with its twin, and returns it as stored
// (SAS keys and generation id filled in).
func (h *Hub) AddDevice(d registry.Device) (registry.Device, error) {
	if err := h.registry.Create(d); err != nil {
		return registry.Device{}, err
	}
	if err := h.twins.Create(d.ID); err != nil && !errors.Is(err, twinstore.ErrExists) {
		h.registry.Delete(d.ID)
		return registry.Device{}, err
	}
	return h.registry.Get(d.ID)
}

// CreateSASDevice registers a device that authenticates with SAS tokens;
// the hub generates its keys.
func (h *Hub) CreateSASDevice(id string) (registry.Device, error) {
	return h.AddDevice(registry.Device{ID: id, Auth: registry.AuthSAS})
}

// CreateSelfSignedDevice registers a device authenticated by the SHA-1 or
// SHA-256 thumbprint of its certificate (secondary may be "").
func (h *Hub) CreateSelfSignedDevice(id, primary, secondary string) (registry.Device, error) {
	return h.AddDevice(registry.Device{ID: id, Auth: registry.AuthSelfSigned,
		Thumbprint: registry.X509Thumbprint{PrimaryThumbprint: primary, SecondaryThumbprint: secondary}})
}

// SetDeviceStatus enables or disables an identity; disabling one that is
// connected disconnects it (its reconnects are refused).
func (h *Hub) SetDeviceStatus(id string, s registry.Status) error {
	if err := h.registry.SetStatus(id, s); err != nil {
		return err
	}
	if s == registry.StatusDisabled {
		h.hook.Disconnect(id, "device disabled")
	}
	return nil
}

// DeleteDevice removes an identity (a device with its modules): it is
// disconnected, its twins are deleted and its C2D queue purged.
func (h *Hub) DeleteDevice(id string) error {
	if _, err := h.registry.Get(id); err != nil {
		return err
	}
	ids := []string{id}
	for _, d := range h.registry.List() {
		if _, mod := registry.Split(id); mod == "" && strings.HasPrefix(d.ID, id+"/") {
			ids = append(ids, d.ID)
		}
	}
	h.registry.Delete(id)
	for _, x := range ids {
		h.hook.Disconnect(x, "device deleted")
		h.twins.Delete(x)
		h.c2d.Purge(x, h.cfg.Now())
	}
	return nil
}

// Policies returns the hub's shared access policies.
func (h *Hub) Policies() []sas.Policy { return append([]sas.Policy(nil), h.cfg.Policies...) }

// DeviceConnectionString is the connection string of a SAS identity:
// `HostName=..;DeviceId=..[;ModuleId=..];SharedAccessKey={primary}`.
func (h *Hub) DeviceConnectionString(id string) (string, error) {
	d, err := h.registry.Get(id)
	if err != nil {
		return "", err
	}
	if d.Auth != registry.AuthSAS {
		return "", fmt.Errorf("device %q uses %s authentication, not SAS", id, d.Auth)
	}
	dev, mod := registry.Split(id)
	s := "HostName=" + h.cfg.HostName + ";DeviceId=" + dev
	if mod != "" {
		s += ";ModuleId=" + mod
	}
	return s + ";SharedAccessKey=" + d.SymmetricKey.PrimaryKey, nil
}

// DeviceToken signs a SAS token for a SAS identity with its primary key,
// valid until expiry.
func (h *Hub) DeviceToken(id string, expiry time.Time) (string, error) {
	d, err := h.registry.Get(id)
	if err != nil {
		return "", err
	}
	dev, mod := registry.Split(id)
	return sas.Sign(sas.Resource(h.cfg.HostName, dev, mod), d.SymmetricKey.PrimaryKey, "", expiry)
}

// Connected reports whether an identity has a live MQTT connection.
func (h *Hub) Connected(id string) bool { return h.hook.Connected(id) }

// Now is the hub's clock.
func (h *Hub) Now() time.Time { return h.cfg.Now() }
