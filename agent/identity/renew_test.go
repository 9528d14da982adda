package identity

import (
	"crypto/x509"
	"testing"
	"time"
)

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func certValid(from time.Time, life time.Duration) *x509.Certificate {
	return &x509.Certificate{NotBefore: from, NotAfter: from.Add(life)}
}

func TestRenewAt(t *testing.T) {
	c := certValid(t0, 100*time.Hour)
	tests := []struct {
		name     string
		fraction float64
		now      time.Time
		want     time.Time
	}{
		{"default 80 %", 0, t0, t0.Add(80 * time.Hour)},
		{"explicit 50 %", 0.5, t0, t0.Add(50 * time.Hour)},
		{"fraction >= 1 means default", 1, t0, t0.Add(80 * time.Hour)},
		{"negative means default", -3, t0, t0.Add(80 * time.Hour)},
		{"past the point: now", 0.8, t0.Add(90 * time.Hour), t0.Add(90 * time.Hour)},
	}
	for _, tc := range tests {
		if got := RenewAt(c, tc.fraction, tc.now); !got.Equal(tc.want) {
			t.Errorf("%s: RenewAt(100h cert, %v, %v) = %v, want %v", tc.name, tc.fraction, tc.now, got, tc.want)
		}
	}
}

func TestRenewalDecide(t *testing.T) {
	c := certValid(t0, 100*time.Hour) // renew at +80h; urgent from +90h with a 10h margin
	p := Renewal{UrgentMargin: 10 * time.Hour}
	tests := []struct {
		name     string
		now      time.Time
		caseLive bool
		want     Action
		wantAt   time.Time
	}{
		{"fresh", t0.Add(time.Hour), false, Wait, t0.Add(80 * time.Hour)},
		{"fresh during a case", t0.Add(time.Hour), true, Wait, t0.Add(80 * time.Hour)},
		{"due", t0.Add(80 * time.Hour), false, Renew, time.Time{}},
		{"due during a case waits for the margin", t0.Add(85 * time.Hour), true, Wait, t0.Add(90 * time.Hour)},
		{"inside the margin during a case", t0.Add(95 * time.Hour), true, RenewUrgent, time.Time{}},
		{"expired", t0.Add(100 * time.Hour), false, Reprovision, time.Time{}},
		{"not yet valid (clock behind)", t0.Add(-time.Hour), false, Reprovision, time.Time{}},
	}
	for _, tc := range tests {
		got := p.Decide(c, tc.now, tc.caseLive)
		if got.Action != tc.want || !got.At.Equal(tc.wantAt) {
			t.Errorf("%s: Decide(now=%v, case=%v) = %v at %v (%s), want %v at %v",
				tc.name, tc.now.Sub(t0), tc.caseLive, got.Action, got.At, got.Reason, tc.want, tc.wantAt)
		}
	}
}

func TestRenewalMarginLongerThanRemainderIsUrgentAtOnce(t *testing.T) {
	c := certValid(t0, 10*time.Hour) // default margin 24h > lifetime
	if d := (Renewal{}).Decide(c, t0.Add(time.Minute), true); d.Action != RenewUrgent {
		t.Fatalf("short-lived cert during a case: %v, want renew-urgent", d.Action)
	}
}
