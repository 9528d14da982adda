package logship

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cloudpillar/cloudpillar/agent/backoff"
)

// Stats are the Shipper's counters since New.
type Stats struct {
	Requested    int64 // jobs accepted (on demand, scheduled, triggered)
	Done         int64 // jobs finished with every file delivered
	Failed       int64 // jobs finished with a failure
	Files        int64 // files delivered (committed and notified)
	Bytes        int64 // compressed bytes delivered
	ResentBlocks int64 // blocks sent more than once
	Redactions   int64 // redaction matches in delivered files
}

// Shipper selects log files and uploads them to IoT Hub, one job at a
// time. New starts nothing; Run owns the one runner goroutine. Request,
// Trigger, the setters and the readers are safe to call from any
// goroutine, before or during Run.
type Shipper struct {
	cfg    Config
	log    *slog.Logger
	client *client
	limit  *limiter
	gate   Waiter
	open   opener
	enc    *encoder // used by the runner only
	wake   chan struct{}

	running atomic.Bool

	mu          sync.Mutex // guards the fields below and every *job in jobs
	jobs        map[string]*job
	sched       schedule
	lastTrigger time.Time
	stats       Stats

	reportMu   sync.Mutex // serialises OnStatus calls, so the last call carries the latest state
	lastReport map[string]time.Time
}

// New builds a Shipper and reads the jobs its store holds (unfinished ones
// resume when Run starts).
func New(cfg Config) (*Shipper, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	s := &Shipper{
		cfg:        cfg,
		log:        cfg.Logger.With("subsystem", "logship"),
		limit:      newLimiter(cfg.BytesPerSecond),
		gate:       cfg.Waiter,
		open:       openShared,
		wake:       make(chan struct{}, 1),
		jobs:       map[string]*job{},
		lastReport: map[string]time.Time{},
	}
	if s.gate == nil {
		s.gate = openGate{}
	}
	s.client = newClient(&s.cfg)
	jobs, err := loadJobs(cfg.Store)
	if err != nil {
		return nil, fmt.Errorf("logship: %w", err)
	}
	for _, j := range jobs {
		s.jobs[j.ID] = j
	}
	if err := s.loadSchedule(); err != nil {
		return nil, fmt.Errorf("logship: %w", err)
	}
	return s, nil
}

// Run uploads jobs until ctx ends, resuming unfinished ones first, and
// requests scheduled uploads when due. It returns nil on cancellation;
// an interrupted upload continues at the next Run from its last staged
// block.
func (s *Shipper) Run(ctx context.Context) error {
	if !s.running.CompareAndSwap(false, true) {
		return errors.New("logship: Run called twice")
	}
	defer s.running.Store(false)
	defer s.client.close()
	bo := backoff.New(s.cfg.Backoff, s.cfg.Rand)
	for ctx.Err() == nil {
		if j := s.next(); j != nil {
			if s.enc == nil {
				s.enc = newEncoder(s.cfg.Redactor, s.cfg.BlockSize)
			}
			s.runJob(ctx, j, bo)
			continue
		}
		// Idle: give back the block buffer and compressor (several MiB),
		// which matters when thousands of agents share one process.
		s.enc = nil
		wait := s.scheduleTick()
		select {
		case <-ctx.Done():
		case <-s.wake:
		case <-s.cfg.After(wait):
		}
	}
	return nil
}

// next returns the oldest unfinished job.
func (s *Shipper) next() *job {
	s.mu.Lock()
	defer s.mu.Unlock()
	var first *job
	for _, j := range s.jobs {
		if !j.finished() && (first == nil || j.Created.Before(first.Created) ||
			j.Created.Equal(first.Created) && j.ID < first.ID) {
			first = j
		}
	}
	return first
}

// Request accepts an upload of the given sources' files last modified in
// [from, to] (zero: open end; no sources: every source) and returns its
// job id at once. The direct method uploadLogs calls it. A source may be
// "name:path" to pick one file or folder inside a source's root. Progress
// and the result arrive through OnStatus.
func (s *Shipper) Request(from, to time.Time, sources []string) string {
	return s.request("request", from, to, sources)
}

func (s *Shipper) request(reason string, from, to time.Time, sources []string) string {
	now := s.cfg.Now()
	j := &job{ID: newJobID(now), Reason: reason, From: from.UTC(), To: to.UTC(),
		Sources: append([]string(nil), sources...), Created: now.UTC(), State: StateQueued}
	if err := s.checkSources(sources); err != nil {
		j.State, j.Error, j.Finished = StateFailed, err.Error(), now.UTC()
	}
	if err := j.put(s.cfg.Store); err != nil {
		j.State, j.Error, j.Finished = StateFailed, publicText(err), now.UTC()
	}
	s.mu.Lock()
	s.jobs[j.ID] = j
	s.stats.Requested++
	if j.State == StateFailed {
		s.stats.Failed++
	}
	s.mu.Unlock()
	s.log.Info("log upload requested", "job", j.ID, "reason", reason, "state", j.State)
	s.report(j.ID, true)
	s.poke()
	return j.ID
}

func (s *Shipper) checkSources(names []string) error {
	for _, n := range names {
		name, _ := splitSource(n)
		if _, ok := s.cfg.source(name); !ok {
			return fmt.Errorf("%w: %q", ErrUnknownSource, clip(name, 64))
		}
	}
	return nil
}

// Trigger requests an upload of the last TriggerWindow of the trigger
// sources after an error event, at most once per TriggerEvery. It returns
// the job id, or "" when an upload was triggered too recently.
func (s *Shipper) Trigger(event string) string {
	now := s.cfg.Now()
	s.mu.Lock()
	if !s.lastTrigger.IsZero() && now.Sub(s.lastTrigger) < s.cfg.TriggerEvery {
		s.mu.Unlock()
		return ""
	}
	s.lastTrigger = now
	s.mu.Unlock()
	return s.request("error: "+clip(event, 64), now.Add(-s.cfg.TriggerWindow), now, s.cfg.TriggerSources)
}

// SetBandwidth changes the upload cap (bytes per second; 0: none). It
// applies to the block in flight too.
func (s *Shipper) SetBandwidth(bytesPerSecond int64) { s.limit.setRate(bytesPerSecond) }

// SetCertificate replaces the client certificate (after renewal); new
// connections present it.
func (s *Shipper) SetCertificate(cert tls.Certificate) {
	s.client.cert.Store(&cert)
	s.client.close()
}

// SetHub points uploads at the hub a device was assigned (DPS) under the
// device id it has there; address is where to dial host (empty:
// host:443). Uploads in flight continue on their SAS links; requests to
// the hub use the new target from now on.
func (s *Shipper) SetHub(deviceID, host, address string) {
	if address == "" && host != "" {
		address = net.JoinHostPort(host, "443")
	}
	s.client.setHub(hubTarget{deviceID: deviceID, host: host, addr: address})
	s.poke()
}

// Status returns the job's twin status.
func (s *Shipper) Status(jobID string) (map[string]any, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	j, ok := s.jobs[jobID]
	if !ok {
		return nil, false
	}
	return j.status(), true
}

// Jobs returns every known job's status, for a full report of
// logUploads after a connect.
func (s *Shipper) Jobs() map[string]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]any, len(s.jobs))
	for id, j := range s.jobs {
		out[id] = j.status()
	}
	return out
}

// Stats returns the counters.
func (s *Shipper) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stats
}

func (s *Shipper) poke() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// progressEvery limits progress-only reports of one job.
const progressEvery = time.Second

// report hands job id's status to OnStatus. A progress-only report
// (changed false) is skipped if the job was reported less than a second ago.
func (s *Shipper) report(id string, changed bool) {
	s.reportMu.Lock()
	defer s.reportMu.Unlock()
	now := s.cfg.Now()
	if !changed && now.Sub(s.lastReport[id]) < progressEvery {
		return
	}
	s.lastReport[id] = now
	st, ok := s.Status(id)
	if !ok {
		delete(s.lastReport, id)
		s.cfg.OnStatus(id, nil)
		return
	}
	s.cfg.OnStatus(id, st)
}

// update changes a job under the lock and reports it.
func (s *Shipper) update(j *job, changed bool, f func(j *job)) {
	s.mu.Lock()
	f(j)
	s.mu.Unlock()
	s.report(j.ID, changed)
}
