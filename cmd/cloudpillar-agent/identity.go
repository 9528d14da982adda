package main

import (
	"time"

	"github.com/cloudpillar/cloudpillar/agent/identity"
)

// identityExpiry reports when the device's identity expires, for the
// health endpoint: ok is false while there is none yet (a provisioned
// device before its first registration). The running service uses
// agent.Agent.IdentityExpires.
type identityExpiry func() (notAfter time.Time, ok bool)

// fixedExpiry is the expiry of a fixed device certificate.
func fixedExpiry(notAfter time.Time) identityExpiry {
	return func() (time.Time, bool) { return notAfter, true }
}

// storedIdentityExpiry is the NotAfter of the operational identity the
// agent stored in dir, for --check-config, which does not start the agent;
// ok is false when there is none or it cannot be read.
func storedIdentityExpiry(dir string) (notAfter time.Time, ok bool) {
	id, err := identity.ReadCurrent(dir)
	if err != nil {
		return time.Time{}, false
	}
	leaf, err := id.Leaf()
	if err != nil {
		return time.Time{}, false
	}
	return leaf.NotAfter, true
}
