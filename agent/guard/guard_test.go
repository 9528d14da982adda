package guard

import (
	"testing"
	"time"

	"github.com/cloudpillar/cloudpillar/agent/device"
)

var t0 = time.Date(2026, 6, 1, 10, 0, 0, 0, time.UTC)

// step is one command of a guard script: observe a case state, or ask
// about an action and compare the decision.
type step struct {
	at      time.Duration // offset from t0
	observe bool
	state   device.CaseState
	action  Action
	want    string        // "allow" or the expected Reason
	retryAt time.Duration // expected RetryAt offset; zero for zero
}

// zero in a step means "expect the zero time.Time".
const zero = time.Duration(-1 << 63)

func obs(at time.Duration, s device.CaseState) step { return step{at: at, observe: true, state: s} }

// beat observes s every interval in [from, to].
func beat(from, to, every time.Duration, s device.CaseState) []step {
	var out []step
	for at := from; at <= to; at += every {
		out = append(out, obs(at, s))
	}
	return out
}

func allowed(at time.Duration, a Action) step {
	return step{at: at, action: a, want: "allow", retryAt: zero}
}

func denied(at time.Duration, a Action, reason string, retry time.Duration) step {
	return step{at: at, action: a, want: reason, retryAt: retry}
}

func script(parts ...any) []step {
	var out []step
	for _, p := range parts {
		switch p := p.(type) {
		case step:
			out = append(out, p)
		case []step:
			out = append(out, p...)
		}
	}
	return out
}

func run(t *testing.T, g *Guard, steps []step) {
	t.Helper()
	for i, s := range steps {
		now := t0.Add(s.at)
		if s.observe {
			g.Observe(s.state, now)
			continue
		}
		d := g.Allow(s.action, now)
		got := "allow"
		if !d.Allowed {
			got = d.Reason
		}
		var wantRetry time.Time
		if s.retryAt != zero {
			wantRetry = t0.Add(s.retryAt)
		}
		if got != s.want || !d.RetryAt.Equal(wantRetry) {
			t.Fatalf("step %d: Allow(%s, t0+%v) = %q retry %v, want %q retry %v",
				i, s.action, s.at, got, d.RetryAt, s.want, wantRetry)
		}
	}
}

const (
	min_ = time.Minute
	sec  = time.Second
)

// TestGuardFloor covers the patient-first floor (DESIGN.md decision 6,
// issue 5): live, unknown and stale count as live; work resumes only
// after a continuous quiet period that configuration cannot shorten.
func TestGuardFloor(t *testing.T) {
	tests := []struct {
		name  string
		cfg   Config
		steps []step
	}{
		{"never observed holds everything", Config{}, script(
			denied(0, Download, ReasonNeverObserved, zero),
			denied(time.Hour, Upload, ReasonNeverObserved, zero),
		)},
		{"boot in idle waits for the quiet period", Config{}, script(
			beat(0, 10*min_, 5*sec, device.CaseIdle),
			denied(9*min_, Download, ReasonQuiet, 10*min_),
			allowed(10*min_, Download),
		)},
		{"idle live idle quiet then allowed", Config{}, script(
			beat(0, 12*min_, 5*sec, device.CaseIdle),
			allowed(11*min_, Download),
			beat(12*min_+5*sec, 20*min_, 5*sec, device.CaseLive),
			denied(12*min_+5*sec, Download, ReasonLive, zero),
			denied(15*min_, Install, ReasonLive, zero),
			beat(20*min_+5*sec, 31*min_, 5*sec, device.CaseIdle),
			denied(20*min_+5*sec, Download, ReasonQuiet, 30*min_+5*sec),
			denied(30*min_, Upload, ReasonQuiet, 30*min_+5*sec),
			allowed(30*min_+5*sec, Download),
			allowed(30*min_+5*sec, Upload),
		)},
		{"a short live blip restarts the quiet period", Config{}, script(
			beat(0, 9*min_, 5*sec, device.CaseIdle),
			obs(9*min_+1*sec, device.CaseLive),
			beat(9*min_+2*sec, 19*min_+2*sec, 5*sec, device.CaseIdle),
			denied(10*min_, Download, ReasonQuiet, 19*min_+2*sec),
			allowed(19*min_+2*sec, Download),
		)},
		{"unknown counts as live", Config{}, script(
			beat(0, 11*min_, 5*sec, device.CaseIdle),
			allowed(11*min_, Download),
			obs(11*min_+1*sec, device.CaseUnknown),
			denied(11*min_+2*sec, Download, ReasonUnknown, zero),
			denied(11*min_+2*sec, DisruptiveMethod, ReasonUnknown, zero),
		)},
		{"unrecognised case state counts as unknown", Config{}, script(
			obs(0, device.CaseState(9)),
			denied(time.Second, Download, ReasonUnknown, zero),
		)},
		{"stale heartbeat counts as live and restarts quiet", Config{}, script(
			beat(0, 11*min_, 5*sec, device.CaseIdle),
			allowed(11*min_, Download),
			allowed(11*min_+10*sec, Download), // exactly one lease after the last beat
			denied(11*min_+11*sec, Download, ReasonStale, zero),
			obs(11*min_+20*sec, device.CaseIdle),
			denied(11*min_+21*sec, Download, ReasonQuiet, 21*min_+20*sec),
		)},
		{"quiet period below the floor is raised to one minute", Config{QuietPeriod: 5 * sec}, script(
			beat(0, min_, 5*sec, device.CaseIdle),
			denied(30*sec, Download, ReasonQuiet, min_),
			allowed(min_, Download),
		)},
		{"configured quiet period applies above the floor", Config{QuietPeriod: 3 * min_}, script(
			beat(0, 3*min_, 5*sec, device.CaseIdle),
			denied(2*min_, Download, ReasonQuiet, 3*min_),
			allowed(3*min_, Download),
		)},
		{"lease above the maximum is lowered to two minutes", Config{Lease: time.Hour}, script(
			beat(0, 11*min_, time.Minute, device.CaseIdle),
			allowed(13*min_, Download),
			denied(13*min_+1*sec, Download, ReasonStale, zero),
		)},
		{"clock moving backwards restarts the quiet period", Config{}, script(
			beat(0, 11*min_, 5*sec, device.CaseIdle),
			allowed(11*min_, Download),
			obs(5*min_, device.CaseIdle),
			denied(5*min_+1*sec, Download, ReasonQuiet, 15*min_),
		)},
		{"unknown action is denied", Config{}, script(
			beat(0, 11*min_, 5*sec, device.CaseIdle),
			denied(11*min_, Action(0), ReasonUnknownAction, zero),
			denied(11*min_, Action(99), ReasonUnknownAction, zero),
		)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { run(t, New(tc.cfg), tc.steps) })
	}
}

// TestEveryActionHeldWhileLive: no disruptive action of any kind runs
// during a case (issue 5, "While live").
func TestEveryActionHeldWhileLive(t *testing.T) {
	g := New(Config{Windows: []Window{AlwaysOpen()}})
	for _, s := range beat(0, 11*min_, 5*sec, device.CaseIdle) {
		g.Observe(s.state, t0.Add(s.at))
	}
	g.Observe(device.CaseLive, t0.Add(11*min_+1*sec))
	for a := range actionNames {
		if d := g.Allow(a, t0.Add(11*min_+2*sec)); d.Allowed || d.Reason != ReasonLive {
			t.Errorf("Allow(%s) during a live case = %+v, want denied %q", a, d, ReasonLive)
		}
	}
}

func mustWindow(t *testing.T, start string, d time.Duration, tz string) Window {
	t.Helper()
	w, err := ParseWindow(start, d, tz)
	if err != nil {
		t.Fatalf("ParseWindow(%q, %v, %q): %v", start, d, tz, err)
	}
	return w
}

// TestActivateNeedsWindow: activation additionally needs an open
// maintenance window, and a window never widens what the floor allows.
func TestActivateNeedsWindow(t *testing.T) {
	// t0 is 10:00 UTC; this window is open 10:30-11:30 UTC every day.
	w := mustWindow(t, "30 10 * * *", time.Hour, "UTC")
	tests := []struct {
		name  string
		cfg   Config
		steps []step
	}{
		{"no window configured never activates", Config{}, script(
			beat(0, 40*min_, 5*sec, device.CaseIdle),
			allowed(40*min_, Download),
			denied(40*min_, Activate, ReasonNoWindow, zero),
		)},
		{"always open window activates once quiet", Config{Windows: []Window{AlwaysOpen()}}, script(
			beat(0, 10*min_, 5*sec, device.CaseIdle),
			denied(5*min_, Activate, ReasonQuiet, 10*min_),
			allowed(10*min_, Activate),
		)},
		{"outside the window waits for it", Config{Windows: []Window{w}}, script(
			beat(0, 31*min_, 5*sec, device.CaseIdle),
			allowed(20*min_, Install),
			denied(20*min_, Activate, ReasonOutsideWindow, 30*min_),
			allowed(30*min_, Activate),
		)},
		{"quiet period reports the first window opening after it", Config{Windows: []Window{w}}, script(
			beat(0, 5*min_, 5*sec, device.CaseIdle),
			denied(5*min_, Activate, ReasonQuiet, 30*min_),
		)},
		{"open window during a live case still denies", Config{Windows: []Window{w}}, script(
			beat(0, 35*min_, 5*sec, device.CaseIdle),
			allowed(35*min_, Activate),
			obs(35*min_+1*sec, device.CaseLive),
			denied(35*min_+2*sec, Activate, ReasonLive, zero),
		)},
		{"open window with stale case state still denies", Config{Windows: []Window{w}}, script(
			beat(0, 35*min_, 5*sec, device.CaseIdle),
			denied(40*min_, Activate, ReasonStale, zero),
		)},
		{"open window during the quiet period still denies", Config{Windows: []Window{w}}, script(
			beat(31*min_, 32*min_, 5*sec, device.CaseIdle),
			denied(32*min_, Activate, ReasonQuiet, 41*min_),
		)},
		{"window closes", Config{Windows: []Window{w}}, script(
			beat(0, 90*min_, 5*sec, device.CaseIdle),
			allowed(89*min_, Activate),
			denied(90*min_, Activate, ReasonOutsideWindow, 24*time.Hour+30*min_),
		)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { run(t, New(tc.cfg), tc.steps) })
	}
}

// TestStatusForTwin: the twin sees state, reason, since and deferrals.
func TestStatusForTwin(t *testing.T) {
	g := New(Config{})
	tests := []struct {
		name  string
		do    func()
		at    time.Duration
		state string
		since time.Duration
	}{
		{"fresh guard is unknown", func() {}, 0, StateUnknown, zero},
		{"idle starts quiet", func() { g.Observe(device.CaseIdle, t0) }, 1 * sec, StateQuiet, 0},
		{"live", func() { g.Observe(device.CaseLive, t0.Add(5*sec)) }, 6 * sec, StateLive, 5 * sec},
		{"stale since the lease ran out", func() {}, 30 * sec, StateUnknown, 15 * sec},
		{"idle again quiet", func() { g.Observe(device.CaseIdle, t0.Add(time.Minute)) }, time.Minute, StateQuiet, time.Minute},
	}
	for _, tc := range tests {
		tc.do()
		st := g.Status(t0.Add(tc.at))
		var wantSince time.Time
		if tc.since != zero {
			wantSince = t0.Add(tc.since)
		}
		if st.State != tc.state || !st.Since.Equal(wantSince) {
			t.Errorf("%s: Status = %+v, want state %q since %v", tc.name, st, tc.state, wantSince)
		}
	}
	idle := New(Config{QuietPeriod: time.Minute, Lease: MaxLease})
	idle.Observe(device.CaseIdle, t0)
	idle.Observe(device.CaseIdle, t0.Add(2*time.Minute-5*sec))
	if st := idle.Status(t0.Add(2 * time.Minute)); st.State != StateIdle || st.Reason != "" || !st.Since.Equal(t0.Add(time.Minute)) {
		t.Errorf("Status after the quiet period = %+v, want idle since t0+1m", st)
	}
}

// TestDeferralsAndAudit: a deferral is counted once per episode, and
// every change (defer, resume, allow, case state) is audited once.
func TestDeferralsAndAudit(t *testing.T) {
	g := New(Config{Windows: []Window{AlwaysOpen()}})
	for _, s := range script(
		denied(0, Download, ReasonNeverObserved, zero), // deferral 1
		denied(1*sec, Download, ReasonNeverObserved, zero),
		beat(2*sec, 12*min_, 5*sec, device.CaseIdle),
		allowed(11*min_, Download),
		allowed(11*min_+1*sec, Download),
		allowed(11*min_+2*sec, Activate),
		allowed(11*min_+3*sec, Activate),
		obs(12*min_+1*sec, device.CaseLive),
		denied(12*min_+2*sec, Download, ReasonLive, zero), // deferral 2
		denied(12*min_+3*sec, Download, ReasonLive, zero),
	) {
		run(t, g, []step{s})
	}
	if got := g.Status(t0.Add(12*min_ + 4*sec)).Deferrals; got != 2 {
		t.Errorf("Deferrals = %d, want 2", got)
	}
	want := []struct{ action, decision string }{
		{"download", DecisionDefer},
		{AuditCaseState, "idle"},
		{"download", DecisionResume},
		{"activate", DecisionAllow},
		{"activate", DecisionAllow},
		{AuditCaseState, "live"},
		{"download", DecisionDefer},
	}
	got := g.Drain()
	if len(got) != len(want) {
		t.Fatalf("Drain() = %d entries %+v, want %d", len(got), got, len(want))
	}
	for i, w := range want {
		if got[i].Action != w.action || got[i].Decision != w.decision {
			t.Errorf("entry %d = %s/%s, want %s/%s", i, got[i].Action, got[i].Decision, w.action, w.decision)
		}
	}
	if rest := g.Audit(); len(rest) != 0 {
		t.Errorf("Audit() after Drain = %+v, want empty", rest)
	}
}

// TestAuditOverflowSaysWhatWasDropped: the in-memory trail is bounded and
// the next drain reports the loss.
func TestAuditOverflowSaysWhatWasDropped(t *testing.T) {
	g := New(Config{})
	for i := range MaxPendingAudit + 5 {
		state := device.CaseIdle
		if i%2 == 1 {
			state = device.CaseLive
		}
		g.Observe(state, t0.Add(time.Duration(i)*time.Second))
	}
	got := g.Drain()
	if len(got) != MaxPendingAudit+1 || got[0].Action != AuditDropped || got[0].Reason != "5 older entries dropped: audit not drained" {
		t.Fatalf("Drain() = %d entries, first %+v; want %d with a dropped notice for 5", len(got), got[0], MaxPendingAudit+1)
	}
}

// TestConfigCannotLowerTheFloor: defaults fill zero values and the floor
// clamps everything else (DESIGN.md decision 6: no configuration can lower
// the floor).
func TestConfigCannotLowerTheFloor(t *testing.T) {
	tests := []struct {
		name         string
		cfg          Config
		quiet, lease time.Duration
	}{
		{"zero config takes defaults", Config{}, DefaultQuietPeriod, DefaultLease},
		{"negative values take defaults", Config{QuietPeriod: -time.Hour, Lease: -time.Second}, DefaultQuietPeriod, DefaultLease},
		{"quiet period below the floor", Config{QuietPeriod: time.Nanosecond}, MinQuietPeriod, DefaultLease},
		{"lease above the maximum", Config{Lease: 24 * time.Hour}, DefaultQuietPeriod, MaxLease},
		{"values inside the limits kept", Config{QuietPeriod: 30 * time.Minute, Lease: 3 * time.Second}, 30 * time.Minute, 3 * time.Second},
	}
	for _, tc := range tests {
		g := New(tc.cfg)
		if g.QuietPeriod() != tc.quiet || g.Lease() != tc.lease {
			t.Errorf("%s: quiet %v lease %v, want %v %v", tc.name, g.QuietPeriod(), g.Lease(), tc.quiet, tc.lease)
		}
	}
}

// TestPeekDecidesWithoutRecording: Peek answers what Allow would, but
// counts no deferral and audits nothing (it serves "when would this run"
// questions, such as the applyUpdate method's runsAfter).
func TestPeekDecidesWithoutRecording(t *testing.T) {
	win, err := ParseWindow("0 2 * * *", time.Hour, "UTC")
	if err != nil {
		t.Fatal(err)
	}
	g := New(Config{QuietPeriod: time.Minute, Windows: []Window{win}})
	g.Observe(device.CaseLive, t0)
	tests := []struct {
		name   string
		at     time.Time
		action Action
	}{
		{"quiet period after a case", t0.Add(time.Second), Activate},
		{"outside the window", t0.Add(2 * time.Minute), Activate},
		{"download when idle", t0.Add(2 * time.Minute), Download},
	}
	g.Observe(device.CaseIdle, t0.Add(time.Second))
	g.Observe(device.CaseIdle, t0.Add(2*time.Minute))
	g.Drain()
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := g.Status(tc.at).Deferrals
			peek := g.Peek(tc.action, tc.at)
			if n, d := len(g.Audit()), g.Status(tc.at).Deferrals; n != 0 || d != before {
				t.Fatalf("Peek recorded: %d audit entries, deferrals %d -> %d", n, before, d)
			}
			if allow := g.Allow(tc.action, tc.at); allow != peek {
				t.Errorf("Peek(%s) = %+v, Allow = %+v", tc.action, peek, allow)
			}
			g.Drain()
		})
	}
}
