package features

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/cucumber/godog"

	"github.com/cloudpillar/cloudpillar/devsim/carto"
	"github.com/cloudpillar/cloudpillar/devsim/updatesrv"
)

// pfPauseWithin is the floor's promise: pausable work stops within a
// second of a case starting (DESIGN.md decision 6).
const pfPauseWithin = time.Second

// registerPatientSteps registers the steps of patient_first.feature; the
// agent stops in an After hook that runs before the hub stops.
func (w *world) registerPatientSteps(sc *godog.ScenarioContext) {
	p := &patientWorld{w: w}
	sc.Step(`^a hub and an agent on a virtual CARTO with A/B slots, idle for longer than its quiet period$`, p.start)
	sc.Step(`^the CARTO's maintenance window is closed$`, p.windowClosed)
	sc.Step(`^the CARTO's maintenance window (?:is open|opens)$`, p.windowOpens)
	sc.Step(`^the update server trickles the payload of "([^"]*)"$`, func(v string) {
		p.srv.SetFault(imageName(v), updatesrv.Fault{BytesPerSecond: 16 << 10, Times: 1})
	})
	sc.Step(`^the service deploys signed update "([^"]*)" through the CARTO's twin$`, p.deploy)
	sc.Step(`^the CARTO is downloading the update$`, p.downloading)
	sc.Step(`^a patient case starts on the CARTO$`, func(ctx context.Context) error {
		p.caseAt = time.Now()
		p.dev.StartCase()
		return p.observed(ctx)
	})
	sc.Step(`^the CARTO can no longer tell whether a patient case is live$`, func(ctx context.Context) error {
		p.caseAt = time.Now()
		p.dev.LoseCaseState()
		return p.observed(ctx)
	})
	sc.Step(`^(?:the patient case on the CARTO ends|the CARTO reports no patient case again)$`, func(ctx context.Context) error {
		p.dev.EndCase()
		p.caseEndAt = time.Now()
		return p.observed(ctx)
	})
	sc.Step(`^the CARTO's quiet period passes$`, func(ctx context.Context) error {
		p.quietAt = time.Now()
		return p.advance(ctx, pfPastQuiet)
	})
	sc.Step(`^within 1 second the CARTO's download stops$`, p.downloadStops)
	sc.Step(`^for (\d+) seconds the CARTO downloads nothing and its twin says the update waits because "([^"]*)"$`, p.downloadsNothing)
	sc.Step(`^within (\d+) seconds the CARTO runs "([^"]*)" and its twin reports the update installed$`, func(ctx context.Context, s int, v string) error {
		return within(ctx, seconds(s), func() error { return p.installed(v) })
	})
	sc.Step(`^the CARTO's download resumed where it stopped$`, p.resumed)
	sc.Step(`^no update work ran on the CARTO during its case beyond the first second$`, p.noWorkDuringCase)
	sc.Step(`^within (\d+) seconds the CARTO has the update staged, waiting because "([^"]*)"$`, p.staged)
	sc.Step(`^for (\d+) seconds the CARTO keeps running "([^"]*)" and its twin says the update waits because "([^"]*)"$`, p.keepsRunning)
	sc.Step(`^the CARTO activated the update only after its case and the quiet period$`, p.activatedAfterQuiet)
	sc.Step(`^the CARTO's twin reports its guard state as "([^"]*)"$`, p.guardState)
	sc.After(func(ctx context.Context, _ *godog.Scenario, err error) (context.Context, error) {
		return ctx, p.close()
	})
}

func (p *patientWorld) windowClosed() error {
	if now := p.clk.Now(); now.Hour() >= 2 && now.Hour() < 6 {
		return fmt.Errorf("the scenario clock %s is inside the window", now.Format(time.TimeOnly))
	}
	return nil
}

func (p *patientWorld) windowOpens(ctx context.Context) error {
	if err := p.advance(ctx, pfOpenWindow); err != nil {
		return err
	}
	if now := p.clk.Now(); now.Hour() != 2 {
		return fmt.Errorf("the scenario clock %s is not inside the window", now.Format(time.TimeOnly))
	}
	return nil
}

// downloading waits until a payload request is open and bytes flow.
func (p *patientWorld) downloading(ctx context.Context) error {
	return within(ctx, 10*time.Second, func() error {
		if p.work.Open(carto.WorkDownload) == 0 || p.srv.BytesSent() == 0 {
			return fmt.Errorf("no download under way: %d requests open, %d bytes sent, guard %+v", p.work.Open(carto.WorkDownload), p.srv.BytesSent(), p.agent.Gate().Status())
		}
		return nil
	})
}

// downloadStops waits for the open request to end, then checks it ended
// within a second of the case starting.
func (p *patientWorld) downloadStops(ctx context.Context) error {
	err := within(ctx, 5*time.Second, func() error {
		if n := p.work.Open(carto.WorkDownload); n > 0 {
			return fmt.Errorf("%d payload requests still open", n)
		}
		return nil
	})
	if err != nil {
		return err
	}
	var last time.Time
	for _, s := range p.work.Spans() {
		if s.Kind == carto.WorkDownload && s.End.After(last) {
			last = s.End
		}
	}
	if took := last.Sub(p.caseAt); took > pfPauseWithin {
		return fmt.Errorf("the download stopped %v after the case started, want within %v", took, pfPauseWithin)
	}
	return nil
}

// downloadsNothing checks, for d, that no payload request starts and the
// server sends nothing, and that the twin names the reason.
func (p *patientWorld) downloadsNothing(ctx context.Context, s int, why string) error {
	if err := within(ctx, 3*time.Second, func() error { return p.waitsBecause(why) }); err != nil {
		return err
	}
	spans, sent := len(p.work.Spans()), p.srv.BytesSent()
	return throughout(ctx, seconds(s), func() error {
		if n, b := len(p.work.Spans()), p.srv.BytesSent(); n != spans || b != sent {
			return fmt.Errorf("download activity during the case: %d requests and %d bytes more", n-spans, b-sent)
		}
		return p.waitsBecause(why)
	})
}

// resumed checks that a later request asked for the rest of the file.
func (p *patientWorld) resumed() error {
	var ranges []string
	for _, r := range p.srv.Requests() {
		if r.Range != "" && !strings.HasPrefix(r.Range, "bytes=0-") && r.Status == 206 {
			return nil
		}
		ranges = append(ranges, fmt.Sprintf("%q:%d", r.Range, r.Status))
	}
	return fmt.Errorf("no request resumed with a range; requests (range:status) %v", ranges)
}

// noWorkDuringCase compares the journal with the case: pausable work may
// run into its first second, nothing else may overlap it at all.
func (p *patientWorld) noWorkDuringCase() error {
	for _, s := range p.work.Spans() {
		from := p.caseAt
		if s.Kind.Pausable() {
			from = from.Add(pfPauseWithin)
		}
		if s.End.After(from) && s.Start.Before(p.caseEndAt) {
			return fmt.Errorf("%s ran from %v to %v, overlapping the case (%v to %v)",
				s.Kind, s.Start.Format(time.StampMilli), s.End.Format(time.StampMilli),
				p.caseAt.Format(time.StampMilli), p.caseEndAt.Format(time.StampMilli))
		}
	}
	return nil
}

// staged waits for the update to sit in the inactive slot, not active,
// with the twin naming why it waits.
func (p *patientWorld) staged(ctx context.Context, s int, why string) error {
	return within(ctx, seconds(s), func() error {
		active, _, versions := p.slots.Status()
		for slot, v := range versions {
			if slot != active && v != "" {
				return p.waitsBecause(why)
			}
		}
		return fmt.Errorf("nothing staged yet: slots %v, active %s", versions, active)
	})
}

// keepsRunning checks, for s seconds, that version stays active and the
// twin names why the update waits (after giving the twin a moment to
// catch up with the step before).
func (p *patientWorld) keepsRunning(ctx context.Context, s int, version, why string) error {
	if err := within(ctx, 3*time.Second, func() error { return p.waitsBecause(why) }); err != nil {
		return err
	}
	return throughout(ctx, seconds(s), func() error {
		if err := p.runs(version); err != nil {
			return err
		}
		if n := p.work.Count(carto.WorkActivate); n != 0 {
			return fmt.Errorf("%d activations", n)
		}
		return p.waitsBecause(why)
	})
}

// activatedAfterQuiet checks the one activation began after the case
// ended and after the clock passed the quiet period.
func (p *patientWorld) activatedAfterQuiet() error {
	var acts []carto.Span
	for _, s := range p.work.Spans() {
		if s.Kind == carto.WorkActivate {
			acts = append(acts, s)
		}
	}
	if len(acts) != 1 {
		return fmt.Errorf("%d activations, want 1", len(acts))
	}
	if a := acts[0].Start; !a.After(p.caseEndAt) || !a.After(p.quietAt) {
		return fmt.Errorf("activated at %v; the case ended at %v and the quiet period passed at %v",
			a.Format(time.StampMilli), p.caseEndAt.Format(time.StampMilli), p.quietAt.Format(time.StampMilli))
	}
	return nil
}

func (p *patientWorld) guardState(state string) error {
	du, err := p.reported()
	if err != nil {
		return err
	}
	g, _ := du["guard"].(map[string]any)
	if g["state"] != state {
		return fmt.Errorf("twin deviceUpdate.guard = %v, want state %q", du["guard"], state)
	}
	return nil
}
