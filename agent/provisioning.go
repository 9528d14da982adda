package agent

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"time"

	"github.com/cloudpillar/cloudpillar/agent/guard"
	"github.com/cloudpillar/cloudpillar/agent/hub"
	"github.com/cloudpillar/cloudpillar/agent/identity"
	"github.com/cloudpillar/cloudpillar/agent/provision"
)

// IdentityConfig turns on two-phase X.509 (DESIGN.md decision 4): the
// device proves itself to the Device Provisioning Service with its
// bootstrap credential and a CSR for a key it generated itself, and
// connects to the hub DPS assigned with the operational certificate DPS
// issued. The key never leaves the device (its KeyStore); the identity
// is renewed at a fraction of its lifetime (never during a patient case
// unless it would otherwise expire) and re-provisioned when the hub
// refuses it.
type IdentityConfig struct {
	// Dir keeps the current and previous identity (and, without Keys,
	// the device keys under Dir/keys, mode 0600).
	Dir string
	// Keys holds the device keys; nil: a FileKeyStore in Dir/keys. A TPM
	// or HSM can back it instead.
	Keys identity.KeyStore
	// KeyType of new device keys; default identity.DefaultKeyType (P-384,
	// what DPS issuance requires).
	KeyType identity.KeyType
	// Provision is the DPS registration: id scope, registration id,
	// address, trusted CAs and the bootstrap credential. Its CSR is made
	// by the agent.
	Provision provision.Config
	// Renewal is the renewal policy (default: at 80 % of the lifetime).
	Renewal identity.Renewal
}

func (a *Agent) openIdentity() error {
	ic := a.cfg.Identity
	keys := ic.Keys
	if keys == nil {
		fk, err := identity.NewFileKeyStore(filepath.Join(ic.Dir, identity.KeysDir))
		if err != nil {
			return fmt.Errorf("agent identity: %w", err)
		}
		keys = fk
	}
	st, err := identity.OpenStore(ic.Dir, keys)
	if err != nil {
		return fmt.Errorf("agent identity: %w", err)
	}
	a.ids = st
	if cur, err := st.Current(); err == nil { // the identity in force until the first dial
		if leaf, err := cur.Leaf(); err == nil {
			a.notAfter.Store(leaf.NotAfter.UnixNano())
		}
	}
	return nil
}

// hubConfig is the session configuration for the next dial: the static
// one, or the operational identity, provisioned (or renewed) first when
// there is none, it is due, or the hub refused it.
func (a *Agent) hubConfig(ctx context.Context) (hub.Config, error) {
	hc := a.cfg.Hub
	if a.ids == nil {
		return hc, nil
	}
	cur, err := a.ids.Current()
	switch {
	case errors.Is(err, identity.ErrNoIdentity):
		cur, err = a.provision(ctx, "first boot")
	case err != nil:
		a.log.Error("identity unreadable; provisioning a new one", "err", err)
		cur, err = a.provision(ctx, "identity unreadable")
	case a.reprovision:
		cur, err = a.provision(ctx, "hub refused the identity")
	default:
		cur, err = a.renewIfDue(ctx, cur)
	}
	if err != nil {
		return hc, err
	}
	cert, err := a.ids.Certificate(cur)
	if err != nil {
		a.reprovision = true
		return hc, fmt.Errorf("operational certificate: %w", err)
	}
	a.leaf = cert.Leaf
	if d := a.renewalDecision(); d.Action != identity.Wait {
		// Due again right after it was issued: the certificate lives
		// shorter than the urgent margin. Renew at the usual fraction (at
		// the earliest in a minute) instead of in a loop.
		now := a.cfg.Now()
		at := max(identity.RenewAt(cert.Leaf, a.cfg.Identity.Renewal.Fraction, now).UnixNano(), now.Add(time.Minute).UnixNano())
		a.renewAt.Store(at)
		a.log.Warn("certificate lifetime is shorter than the renewal policy's urgent margin", "notAfter", cert.Leaf.NotAfter, "decision", d.Action.String())
	}
	hc.DeviceID, hc.HostName, hc.Certificate = cur.DeviceID, cur.AssignedHub, cert
	a.notAfter.Store(cert.Leaf.NotAfter.UnixNano())
	if a.logs != nil {
		a.logs.SetCertificate(cert)
		a.logs.SetHub(cur.DeviceID, cur.AssignedHub, a.cfg.Logs.HTTPSAddress)
	}
	return hc, nil
}

// IdentityExpires is when the certificate the agent connects with expires:
// the operational certificate last issued (ok is false before the first
// one, for a device provisioned through DPS), or the configured one.
func (a *Agent) IdentityExpires() (notAfter time.Time, ok bool) {
	if a.ids == nil {
		if leaf := a.cfg.Hub.Certificate.Leaf; leaf != nil {
			return leaf.NotAfter, true
		}
		return time.Time{}, false
	}
	if n := a.notAfter.Load(); n != 0 {
		return time.Unix(0, n), true
	}
	return time.Time{}, false
}

// renewIfDue renews the identity when the policy says so; while it is
// fresh it arms the renewal timer instead.
func (a *Agent) renewIfDue(ctx context.Context, cur identity.Identity) (identity.Identity, error) {
	leaf, err := cur.Leaf()
	if err != nil {
		return a.provision(ctx, "certificate unreadable")
	}
	a.leaf = leaf
	d := a.renewalDecision()
	if d.Action == identity.Wait {
		return cur, nil
	}
	renewed, err := a.provision(ctx, d.Reason)
	if err == nil || d.Action == identity.Reprovision {
		a.renewRetry.Reset()
		return renewed, err
	}
	// The certificate in use is still valid: keep connecting with it and
	// retry the renewal later (jittered, growing), instead of going
	// offline because DPS is unreachable.
	retry := a.renewRetry.Next()
	a.renewAt.Store(a.cfg.Now().Add(retry).UnixNano())
	a.log.Warn("identity renewal failed; keeping the current certificate", "err", err, "retryIn", retry.Round(time.Second).String())
	return cur, nil
}

// renewalDecision asks the renewal policy about the current certificate
// and arms the timer when the answer is to wait. Renewing forces a
// reconnect, so it waits while the guard holds disruptive work unless the
// certificate would otherwise expire.
func (a *Agent) renewalDecision() identity.Decision {
	live := !a.gate.Allow(guard.Renewal).Allowed
	d := a.cfg.Identity.Renewal.Decide(a.leaf, a.cfg.Now(), live)
	if d.Action == identity.Wait {
		a.renewAt.Store(d.At.UnixNano())
	}
	return d
}

// renewalWaits re-checks a renewal whose timer fired: true if it must
// wait (the timer is re-armed).
func (a *Agent) renewalWaits() bool {
	return a.leaf != nil && a.renewalDecision().Action == identity.Wait
}

// provision registers with DPS, sending a CSR for a pending key, and
// stores the issued identity as current (the previous one is kept).
func (a *Agent) provision(ctx context.Context, why string) (identity.Identity, error) {
	ic := a.cfg.Identity
	pc := ic.Provision
	keyID, signer, err := a.ids.PendingKey(ic.KeyType)
	if err != nil {
		return identity.Identity{}, fmt.Errorf("device key: %w", err)
	}
	if pc.CSR, err = identity.CreateCSR(signer, pc.RegistrationID); err != nil {
		return identity.Identity{}, err
	}
	a.log.Info("provisioning", "reason", why, "registrationId", pc.RegistrationID)
	res, err := provision.Register(ctx, pc)
	if err != nil {
		return identity.Identity{}, provisionError(err)
	}
	id := identity.Identity{
		RegistrationID: pc.RegistrationID, DeviceID: res.DeviceID, AssignedHub: res.AssignedHub,
		KeyID: keyID, Chain: res.IssuedCertificateChain,
	}
	if err := a.ids.Replace(id); err != nil {
		return identity.Identity{}, fmt.Errorf("store issued identity: %w", err)
	}
	a.reprovision = false
	a.provisioned.Add(1)
	if id.DeviceID != a.cfg.Hub.DeviceID {
		a.log.Warn("DPS assigned another device id; messages keep the registration id", "deviceId", id.DeviceID)
	}
	a.log.Info("provisioned", "hub", id.AssignedHub, "deviceId", id.DeviceID)
	return id, nil
}

// provisionError maps DPS outcomes onto the reconnect policy's conditions,
// so a refused or throttled registration never retries in a tight loop.
func provisionError(err error) error {
	switch {
	case errors.Is(err, provision.ErrThrottled):
		return fmt.Errorf("provision: %w: %w", hub.ErrThrottled, err)
	case !provision.Temporary(err):
		return fmt.Errorf("provision: %w: %w", hub.ErrUnauthorized, err)
	}
	return fmt.Errorf("provision: %w", err)
}

// renewalTimer fires when the identity is due for renewal (never, without
// an identity).
func (a *Agent) renewalTimer() (<-chan time.Time, func()) {
	ns := a.renewAt.Load()
	if a.ids == nil || ns == 0 {
		return nil, func() {}
	}
	t := time.NewTimer(max(0, time.Unix(0, ns).Sub(a.cfg.Now()))) // the agent's clock: simulated time compresses a certificate's life
	return t.C, func() { t.Stop() }
}
