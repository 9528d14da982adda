package identity

import (
	"crypto/x509"
	"time"
)

// Renewal defaults.
const (
	// DefaultRenewFraction is the part of a certificate's lifetime after
	// which it is renewed (PROTOCOL.md §6.2: e.g. 80 %).
	DefaultRenewFraction = 0.8
	// DefaultUrgentMargin is how close to expiry a renewal may interrupt
	// a live patient case.
	DefaultUrgentMargin = 24 * time.Hour
)

// RenewAt is when cert should be renewed: NotBefore plus fraction of its
// lifetime (fraction outside (0, 1) means DefaultRenewFraction), but never
// before now.
func RenewAt(cert *x509.Certificate, fraction float64, now time.Time) time.Time {
	if fraction <= 0 || fraction >= 1 {
		fraction = DefaultRenewFraction
	}
	life := cert.NotAfter.Sub(cert.NotBefore)
	at := cert.NotBefore.Add(time.Duration(float64(life) * fraction))
	if at.Before(now) {
		return now
	}
	return at
}

// Action is what the renewal policy decides.
type Action int

// Renewal actions.
const (
	// Wait: nothing to do until Decision.At.
	Wait Action = iota
	// Renew: request a new certificate now.
	Renew
	// RenewUrgent: renew now even though a patient case is live: the
	// certificate expires within the urgent margin.
	RenewUrgent
	// Reprovision: the certificate is expired or not yet valid; only DPS
	// with the bootstrap credential can recover (PROTOCOL.md §6.1).
	Reprovision
)

func (a Action) String() string {
	return [...]string{"wait", "renew", "renew-urgent", "reprovision"}[a]
}

// Decision is the policy's answer.
type Decision struct {
	Action Action
	At     time.Time // for Wait: when to ask again
	Reason string
}

// Renewal is the renewal policy. Renewing ends in a reconnect with the new
// certificate, so it waits while a patient case is live unless the
// certificate would otherwise expire within UrgentMargin.
type Renewal struct {
	Fraction     float64       // of lifetime; default DefaultRenewFraction
	UrgentMargin time.Duration // default DefaultUrgentMargin
}

// Decide says what to do about cert at now.
func (p Renewal) Decide(cert *x509.Certificate, now time.Time, caseLive bool) Decision {
	margin := p.UrgentMargin
	if margin <= 0 {
		margin = DefaultUrgentMargin
	}
	switch {
	case !now.Before(cert.NotAfter):
		return Decision{Action: Reprovision, Reason: "certificate expired"}
	case now.Before(cert.NotBefore):
		return Decision{Action: Reprovision, Reason: "certificate not yet valid"}
	}
	at := RenewAt(cert, p.Fraction, now)
	urgentAt := cert.NotAfter.Add(-margin)
	switch {
	case now.Before(at) && now.Before(urgentAt):
		return Decision{Action: Wait, At: earlier(at, urgentAt), Reason: "certificate fresh"}
	case !now.Before(urgentAt):
		return Decision{Action: RenewUrgent, Reason: "certificate expires within the urgent margin"}
	case caseLive:
		return Decision{Action: Wait, At: urgentAt, Reason: "patient case live"}
	}
	return Decision{Action: Renew, Reason: "renewal due"}
}

func earlier(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}
