package scenarios

import (
	"context"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/shirou/gopsutil/v4/process"

	"github.com/cloudpillar/cloudpillar/reports"
)

// sampler records fleet figures and process resources over a run.
type sampler struct {
	r     *run
	proc  *process.Process // nil if gopsutil cannot see this process
	cpu0  float64
	phase atomic.Value // Phase

	mu      sync.Mutex
	samples []reports.Sample  // guarded by mu
	res     reports.Resources // peaks, guarded by mu
}

func newSampler(r *run) *sampler {
	s := &sampler{r: r}
	s.phase.Store(PhaseStarting)
	if p, err := process.NewProcess(int32(os.Getpid())); err == nil {
		s.proc = p
		s.cpu0 = cpuSeconds(p)
	}
	return s
}

func (s *sampler) loop(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		s.report()
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// report takes one sample and passes a progress snapshot on.
func (s *sampler) report() {
	totals := s.r.fleet.Totals()
	connected := s.r.fleet.Connected()
	delivered := s.r.hub.Events().Stats().Unique
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	var rss uint64
	if s.proc != nil {
		if mi, err := s.proc.MemoryInfo(); err == nil {
			rss = mi.RSS
		}
	}
	elapsed := time.Since(s.r.start)
	s.mu.Lock()
	s.samples = append(s.samples, reports.Sample{
		ElapsedSeconds: elapsed.Seconds(),
		Connected:      connected,
		Delivered:      delivered,
		HeapBytes:      ms.HeapInuse,
		RSSBytes:       rss,
	})
	s.res.PeakHeapBytes = max(s.res.PeakHeapBytes, ms.HeapInuse)
	s.res.PeakRSSBytes = max(s.res.PeakRSSBytes, rss)
	s.res.Goroutines = max(s.res.Goroutines, runtime.NumGoroutine())
	s.mu.Unlock()
	if fn := s.r.opt.Progress; fn != nil {
		fn(Progress{
			Phase:     s.phase.Load().(Phase),
			Elapsed:   elapsed,
			Devices:   s.r.sc.Devices,
			Connected: connected,
			Sent:      totals.Accepted,
			Delivered: delivered,
		})
	}
}

func (s *sampler) figures() ([]reports.Sample, reports.Resources) {
	s.mu.Lock()
	defer s.mu.Unlock()
	res := s.res
	if s.proc != nil {
		res.CPUSeconds = cpuSeconds(s.proc) - s.cpu0
	}
	return append([]reports.Sample(nil), s.samples...), res
}

func cpuSeconds(p *process.Process) float64 {
	t, err := p.Times()
	if err != nil {
		return 0
	}
	return t.User + t.System
}
