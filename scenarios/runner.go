package scenarios

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/cloudpillar/cloudpillar/agent/backoff"
	"github.com/cloudpillar/cloudpillar/chaos"
	"github.com/cloudpillar/cloudpillar/devsim"
	"github.com/cloudpillar/cloudpillar/hubsim"
	"github.com/cloudpillar/cloudpillar/hubsim/dps"
	"github.com/cloudpillar/cloudpillar/internal/testpki"
	"github.com/cloudpillar/cloudpillar/reports"
)

// Phase names what a run is doing, for progress displays.
type Phase string

// Run phases.
const (
	PhaseStarting Phase = "starting"
	PhaseRunning  Phase = "running"
	PhaseDraining Phase = "draining"
	PhaseDone     Phase = "done"
)

// Progress is a snapshot of a run for live displays.
type Progress struct {
	Phase     Phase
	Elapsed   time.Duration
	Devices   int
	Connected int
	Sent      int64
	Delivered int64
}

// Options are how a run is executed (not what it does).
type Options struct {
	// Progress, if set, receives a snapshot about every ProgressEvery.
	Progress      func(Progress)
	ProgressEvery time.Duration // default 1 s
	Logger        *slog.Logger  // nil discards
}

func siteName(i int) string { return devsim.SiteName(i) }

// run is the state of one execution.
type run struct {
	sc      *Scenario
	opt     Options
	hub     *hubsim.Hub
	net     *chaos.Network
	fleet   *devsim.Fleet
	start   time.Time
	twins   *twinTracker
	rnd     *rand.Rand            // every random choice of the run, from the seed
	cases   int                   // patient cases started
	logJobs []logJob              // log uploads requested
	bg      sync.WaitGroup        // background chaos (hub restarts)
	caseLog map[string][]interval // device -> its patient cases (caseStarted)
	updates *rollout              // nil unless the scenario deploys updates
	sampler *sampler
	sum     reports.Summary
}

// Run executes the scenario and returns its judged summary. An error means
// the run could not be carried out (not that it failed its verdict).
func Run(ctx context.Context, sc *Scenario, opt Options) (*reports.Summary, error) {
	if opt.Logger == nil {
		opt.Logger = slog.New(slog.DiscardHandler)
	}
	if opt.ProgressEvery <= 0 {
		opt.ProgressEvery = time.Second
	}
	r := &run{sc: sc, opt: opt, twins: newTwinTracker(), rnd: rand.New(rand.NewPCG(uint64(sc.Seed), 0xca5e))}
	if err := r.setUp(); err != nil {
		return nil, err
	}
	defer r.tearDown()
	r.execute(ctx)
	r.judge()
	return &r.sum, nil
}

func (r *run) setUp() error {
	hc := hubsim.Config{
		Logger:     r.opt.Logger.With("component", "hubsim"),
		OnReported: r.twins.onReported,
		Throttle:   r.sc.Hub.Throttle(), // nil unless the scenario names a tier
	}
	var lab *testpki.LabPKI
	if r.sc.Provision {
		var err error
		if lab, err = testpki.NewLabPKI(testpki.LabOptions{OperationalKeyType: testpki.ECDSAP256}); err != nil {
			return fmt.Errorf("lab PKI: %w", err)
		}
		hc.DPS = &hubsim.DPSConfig{PKI: lab, Options: dps.Config{
			Issuance: dps.IssuancePolicy{KeyTypes: []testpki.KeyType{testpki.ECDSAP256}},
		}}
	}
	h, err := hubsim.New(hc)
	if err != nil {
		return err
	}
	if err := h.Start(); err != nil {
		return fmt.Errorf("start hub: %w", err)
	}
	r.hub = h
	if r.sc.hasUpdates() {
		if r.updates, err = newRollout(); err != nil {
			return fmt.Errorf("update rollout: %w", err)
		}
	}
	r.start = time.Now()
	r.net = chaos.NewNetwork(chaos.NewTimeline(nil))
	ka := time.Duration(r.sc.KeepAliveSeconds) * time.Second
	r.fleet, err = devsim.New(devsim.Config{
		Hub:               h,
		Network:           r.net,
		Devices:           r.sc.Devices,
		Sites:             r.sc.Sites,
		Stagger:           r.sc.Stagger.D(),
		TelemetryInterval: time.Duration(r.sc.TelemetryIntervalSeconds) * time.Second,
		KeepAlive:         ka,
		Backoff:           backoff.Policy{Base: r.sc.Backoff.Base.D(), Cap: r.sc.Backoff.Cap.D()},
		Seed:              uint64(r.sc.Seed),
		Logger:            r.opt.Logger.With("component", "devsim"),
		Lab:               lab,
		Guard:             r.sc.Guard.config(),
		TimeScale:         r.sc.TimeScale,
		Updates:           r.fleetUpdates(),
		LogBytes:          r.logBytes(),
	})
	if err != nil {
		return fmt.Errorf("build fleet: %w", err)
	}
	return nil
}

func (r *run) tearDown() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if r.fleet != nil {
		if err := r.fleet.Close(ctx); err != nil {
			r.opt.Logger.Error("fleet did not stop", "err", err)
		}
	}
	for i := 0; i < r.sc.Sites; i++ { // release held connections
		r.net.Heal(siteName(i))
	}
	if err := r.hub.Close(ctx); err != nil {
		r.opt.Logger.Error("hub did not stop", "err", err)
	}
	if r.updates != nil {
		r.updates.close()
	}
}

// execute runs the fleet for the scenario's duration, firing its events,
// then drains.
func (r *run) execute(ctx context.Context) {
	r.sum.StartedAt = r.start
	r.sampler = newSampler(r)
	var wg sync.WaitGroup
	sctx, stopSampling := context.WithCancel(ctx)
	wg.Go(func() { r.sampler.loop(sctx, r.opt.ProgressEvery) })
	r.sampler.phase.Store(PhaseRunning)
	r.fleet.Start(ctx)
	wg.Go(func() { r.watchAllConnected(sctx) })
	r.schedule(ctx)
	r.sampler.phase.Store(PhaseDraining)
	r.drain(ctx)
	r.sampler.phase.Store(PhaseDone)
	stopSampling()
	wg.Wait()
	r.sampler.report() // a last snapshot after the drain
}

// schedule fires the scenario's events at their times until the duration
// has passed.
func (r *run) schedule(ctx context.Context) {
	type action struct {
		at time.Duration
		do func()
	}
	var acts []action
	for _, e := range r.sc.Events {
		switch {
		case e.Partition != "":
			site := e.Partition
			acts = append(acts, action{e.At.D(), func() { r.net.Partition(site) }})
			acts = append(acts, action{e.At.D() + e.For.D(), func() { r.net.Heal(site) }})
		case e.Desired != nil:
			patch := e.Desired
			acts = append(acts, action{e.At.D(), func() { r.pushDesired(patch) }})
		case e.Cases != nil:
			devs := r.pickDevices(e.Cases.Share)
			acts = append(acts, action{e.At.D(), func() { r.startCases(devs) }})
			acts = append(acts, action{e.At.D() + e.For.D(), func() { r.endCases(devs) }})
		case e.Update != nil:
			u, devs := e.Update, r.pickDevices(e.Update.Share)
			acts = append(acts, action{e.At.D(), func() { r.deployUpdate(u, devs) }})
		case e.Logs != nil:
			devs := r.pickDevices(e.Logs.Share)
			acts = append(acts, action{e.At.D(), func() { r.requestLogs(devs) }})
		case e.HubRestart:
			down := e.For.D()
			acts = append(acts, action{e.At.D(), func() { r.restartHub(ctx, down) }})
		}
	}
	acts = append(acts, action{r.sc.Duration.D(), func() {}})
	sortActions(acts, func(a action) time.Duration { return a.at })
	for _, a := range acts {
		if !waitUntil(ctx, r.start.Add(a.at)) {
			return
		}
		a.do()
	}
}

func (r *run) pushDesired(patch map[string]any) {
	b, _ := json.Marshal(patch) // validated at load
	r.net.Timeline().Record("desired", "", string(b))
	for _, d := range r.fleet.Devices() {
		at := time.Now()
		v, err := r.hub.UpdateDesired(d.ID, b)
		if err != nil {
			r.opt.Logger.Error("desired update failed", "device", d.ID, "err", err)
			r.sum.Failures = append(r.sum.Failures, fmt.Sprintf("desired update to %s: %v", d.ID, err))
			continue
		}
		r.twins.pushed(d.ID, v, patch, at)
	}
}

func (r *run) watchAllConnected(ctx context.Context) {
	t := time.NewTicker(50 * time.Millisecond)
	defer t.Stop()
	for {
		if r.fleet.Connected() == r.sc.Devices {
			r.sum.Connect.TimeToAllConnectedSeconds = time.Since(r.start).Seconds()
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// drain stops new telemetry and waits until every device is connected,
// every queued message acknowledged and every desired change reported, or
// the drain timeout.
func (r *run) drain(ctx context.Context) {
	r.bg.Wait() // a hub restart in progress ends first
	r.fleet.SetProducing(false)
	for i := 0; i < r.sc.Sites; i++ {
		if r.net.Partitioned(siteName(i)) {
			r.net.Heal(siteName(i))
		}
	}
	deadline := time.Now().Add(r.sc.DrainTimeout.D())
	t := time.NewTicker(100 * time.Millisecond)
	defer t.Stop()
	for time.Now().Before(deadline) {
		if r.drained() {
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
	r.sum.Failures = append(r.sum.Failures, fmt.Sprintf("drain: not settled within %v", r.sc.DrainTimeout.D()))
}

func (r *run) drained() bool {
	return r.fleet.Connected() == r.sc.Devices &&
		r.fleet.Totals().Pending == 0 &&
		r.twins.allAcknowledged() &&
		r.updatesSettled() &&
		r.logsSettled()
}
