package scenarios

import (
	"fmt"
	"time"

	"github.com/cloudpillar/cloudpillar/devsim"
	"github.com/cloudpillar/cloudpillar/devsim/carto"
)

// pauseAllowance is how far into a patient case pausable update work
// (download, install) may run before the floor requires it to have
// stopped (DESIGN.md decision 6: within one second). Activation, health
// check, commit and rollback get no allowance.
const pauseAllowance = time.Second

// interval is a span of real time; a zero end means it has not ended.
type interval struct{ start, end time.Time }

// caseStarted and caseEnded keep each device's patient-case intervals for
// the judge. The interval is taken wide: it opens before the device is
// told and closes after.
func (r *run) caseStarted(id string, at time.Time) {
	if r.caseLog == nil {
		r.caseLog = map[string][]interval{}
	}
	r.caseLog[id] = append(r.caseLog[id], interval{start: at})
}

func (r *run) caseEnded(id string, at time.Time) {
	cs := r.caseLog[id]
	if n := len(cs); n > 0 && cs[n-1].end.IsZero() {
		cs[n-1].end = at
	}
}

// disruption compares one device's update work with its patient cases,
// all on the harness's real clock. It counts the activations that began
// while a case was live, and the work-seconds overlapping a live case:
// every span of work (each payload request from send to body close, each
// installer step) contributes its overlap with each case, concurrent
// requests each counting; pausable work only from pauseAllowance after the
// case began. A case still open at now ends now.
func disruption(work []carto.Span, cases []interval, now time.Time) (activations int64, seconds float64) {
	for _, c := range cases {
		end := c.end
		if end.IsZero() {
			end = now
		}
		for _, w := range work {
			if w.Kind == carto.WorkActivate && !w.Start.Before(c.start) && w.Start.Before(end) {
				activations++
			}
			from := c.start
			if w.Kind.Pausable() {
				from = from.Add(pauseAllowance)
			}
			seconds += overlap(w.Start, w.End, from, end).Seconds()
		}
	}
	return activations, seconds
}

// overlap is the length of [a0, a1) ∩ [b0, b1).
func overlap(a0, a1, b0, b1 time.Time) time.Duration {
	lo, hi := a0, a1
	if b0.After(lo) {
		lo = b0
	}
	if b1.Before(hi) {
		hi = b1
	}
	return max(hi.Sub(lo), 0)
}

// countUpdates fills the summary's updates section and adds the
// patient-first failures: offered counts deployments the hub accepted;
// installed, rejected and rolledBack come from each device's reported
// deviceUpdate (the service's view); the DuringCase figures come from the
// devices' work journals against their case intervals.
func (r *run) countUpdates() {
	if r.updates == nil {
		return
	}
	u := &r.sum.Updates
	u.Offered = r.updates.sent
	now := time.Now()
	unsettled := 0
	for _, d := range r.fleet.Devices() {
		if of, ok := r.updates.offered[d.ID]; ok {
			o := r.outcomeOf(d.ID, of.workflow)
			u.Installed += b2i(o.installed)
			u.Rejected += b2i(o.rejected)
			u.RolledBack += b2i(o.rolledBack)
			unsettled += int(b2i(!o.settled))
			r.checkInstalled(d, o, of.version)
		}
		if d.Work != nil {
			a, s := disruption(d.Work.Spans(), r.caseLog[d.ID], now)
			u.ActivationsDuringCase += a
			u.DisruptiveSecondsDuringCase += s
		}
	}
	if unsettled > 0 {
		r.sum.Failures = append(r.sum.Failures, fmt.Sprintf("every offered update came to rest: %d of %d still running", unsettled, len(r.updates.offered)))
	}
	if u.ActivationsDuringCase != 0 {
		r.sum.Failures = append(r.sum.Failures, fmt.Sprintf("no update activated during a patient case: %d did", u.ActivationsDuringCase))
	}
	if u.DisruptiveSecondsDuringCase != 0 {
		r.sum.Failures = append(r.sum.Failures, fmt.Sprintf("no update work during a patient case: %.3f s of it", u.DisruptiveSecondsDuringCase))
	}
}

// checkInstalled fails the run when a device's twin says an update is
// installed but its slots run another version or are still on trial
// (installedUpdateId must tell the truth).
func (r *run) checkInstalled(d *devsim.Device, o outcome, want string) {
	if !o.installed || d.Slots == nil {
		return
	}
	active, trial, versions := d.Slots.Status()
	if versions[active] != want || trial {
		r.sum.Failures = append(r.sum.Failures, fmt.Sprintf("%s reports update %s installed, but its active slot runs %q (trial %v)", d.ID, want, versions[active], trial))
	}
}

func b2i(b bool) int64 {
	if b {
		return 1
	}
	return 0
}
