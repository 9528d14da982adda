package sas

import (
	"crypto/rand"
	"encoding/base64"
	"fmt"
)

// Rights are the permissions of a shared access policy.
type Rights uint8

// The IoT Hub permissions.
const (
	RegistryRead Rights = 1 << iota
	RegistryWrite
	ServiceConnect
	DeviceConnect
)

// Has reports whether r includes every right in want.
func (r Rights) Has(want Rights) bool { return r&want == want }

// Policy is a hub-level shared access policy; tokens signed with one of its
// keys carry skn={Name}.
type Policy struct {
	Name         string
	PrimaryKey   string // base64
	SecondaryKey string // base64
	Rights       Rights
}

// The policies an IoT Hub is created with.
const (
	PolicyOwner             = "iothubowner"
	PolicyService           = "service"
	PolicyDevice            = "device"
	PolicyRegistryRead      = "registryRead"
	PolicyRegistryReadWrite = "registryReadWrite"
)

// DefaultPolicies returns IoT Hub's five built-in policies with fresh keys.
func DefaultPolicies() []Policy {
	defs := []struct {
		name   string
		rights Rights
	}{
		{PolicyOwner, RegistryRead | RegistryWrite | ServiceConnect | DeviceConnect},
		{PolicyService, ServiceConnect},
		{PolicyDevice, DeviceConnect},
		{PolicyRegistryRead, RegistryRead},
		{PolicyRegistryReadWrite, RegistryRead | RegistryWrite},
	}
	out := make([]Policy, 0, len(defs))
	for _, d := range defs {
		out = append(out, Policy{Name: d.name, PrimaryKey: NewKey(), SecondaryKey: NewKey(), Rights: d.rights})
	}
	return out
}

// NewKey returns a random 256-bit key in base64, as IoT Hub generates for
// devices and policies.
func NewKey() string {
	var b [32]byte
	rand.Read(b[:]) // never fails (crypto/rand since Go 1.24)
	return base64.StdEncoding.EncodeToString(b[:])
}

// Authorize checks a token with skn against policies: the policy must exist,
// have every right in want, and one of its keys must verify the token.
func Authorize(policies []Policy, t Token, want Rights) error {
	for _, p := range policies {
		if p.Name != t.KeyName {
			continue
		}
		if !p.Rights.Has(want) {
			return fmt.Errorf("%w: %s lacks the needed permission", ErrPolicy, p.Name)
		}
		return t.Verify(p.PrimaryKey, p.SecondaryKey)
	}
	return fmt.Errorf("%w: no policy named %q", ErrPolicy, clip(t.KeyName))
}
