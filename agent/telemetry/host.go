package telemetry

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net"
	"os"
	"runtime"
	"sync"
	"time"

	"github.com/shirou/gopsutil/v4/cpu"
	"github.com/shirou/gopsutil/v4/disk"
	"github.com/shirou/gopsutil/v4/host"
	"github.com/shirou/gopsutil/v4/mem"
	psnet "github.com/shirou/gopsutil/v4/net"
)

// Host metric names, as they appear in telemetry.
const (
	MetricHostCPUPct        = "hostCpuPct"            // float64, 0-100, all CPUs together
	MetricHostMemUsedPct    = "hostMemUsedPct"        // float64, 0-100
	MetricHostMemAvailable  = "hostMemAvailableBytes" // uint64
	MetricHostDiskUsedPct   = "hostDiskUsedPct"       // float64, 0-100, root file system or system drive
	MetricHostUptimeSeconds = "hostUptimeSeconds"     // uint64
	MetricHostNetSentBytes  = "hostNetSentBytes"      // uint64 since boot, loopback excluded
	MetricHostNetRecvBytes  = "hostNetRecvBytes"      // uint64 since boot, loopback excluded
)

// DefaultHostSampleMinimum is HostSampler's default spacing between reads.
const DefaultHostSampleMinimum = 10 * time.Second

// hostSource gathers some metrics into m.
type hostSource struct {
	name   string
	gather func(ctx context.Context, m map[string]any) error
}

// hostSources are what HostMetrics reads, in order.
var hostSources = []hostSource{
	{"cpu", gatherCPU},
	{"memory", gatherMemory},
	{"disk", gatherDisk},
	{"uptime", gatherUptime},
	{"network", gatherNetwork},
}

// HostMetrics reads the host's CPU, memory, disk, uptime and network
// counters (gopsutil). It never blocks to measure: the CPU percentage is
// cpu.PercentWithContext with interval 0, i.e. the busy share since the
// previous such call anywhere in this process (gopsutil keeps that reading
// process-wide; the first call measures since gopsutil's cpu package was
// initialised). Call it at a steady pace, through a HostSampler, for
// meaningful values.
//
// When some readings fail it returns the others together with the joined
// errors, each naming its source. A panic inside a reading is recovered
// and reported as that source's error.
func HostMetrics(ctx context.Context) (map[string]any, error) {
	return gatherHost(ctx, hostSources)
}

func gatherHost(ctx context.Context, sources []hostSource) (map[string]any, error) {
	m := make(map[string]any, 8)
	var errs []error
	for _, s := range sources {
		if err := gatherOne(ctx, s, m); err != nil {
			errs = append(errs, fmt.Errorf("host %s: %w", s.name, err))
		}
	}
	return m, errors.Join(errs...)
}

// gatherOne runs one source, turning a panic into an error.
func gatherOne(ctx context.Context, s hostSource, m map[string]any) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("panic: %v", r)
		}
	}()
	return s.gather(ctx, m)
}

func gatherCPU(ctx context.Context, m map[string]any) error {
	pct, err := cpu.PercentWithContext(ctx, 0, false)
	if err != nil {
		return err
	}
	if len(pct) == 0 {
		return errors.New("no reading")
	}
	m[MetricHostCPUPct] = clampPct(pct[0])
	return nil
}

func gatherMemory(ctx context.Context, m map[string]any) error {
	vm, err := mem.VirtualMemoryWithContext(ctx)
	if err != nil {
		return err
	}
	m[MetricHostMemUsedPct] = clampPct(vm.UsedPercent)
	m[MetricHostMemAvailable] = vm.Available
	return nil
}

func gatherDisk(ctx context.Context, m map[string]any) error {
	root := systemRoot()
	u, err := disk.UsageWithContext(ctx, root)
	if err != nil {
		return fmt.Errorf("%s: %w", root, err)
	}
	m[MetricHostDiskUsedPct] = clampPct(u.UsedPercent)
	return nil
}

func gatherUptime(ctx context.Context, m map[string]any) error {
	up, err := host.UptimeWithContext(ctx)
	if err != nil {
		return err
	}
	m[MetricHostUptimeSeconds] = up
	return nil
}

// gatherNetwork sums the counters of every interface but loopback (whose
// traffic, this agent's own local API included, never leaves the device).
func gatherNetwork(ctx context.Context, m map[string]any) error {
	nics, err := psnet.IOCountersWithContext(ctx, true)
	if err != nil {
		return err
	}
	loop := loopbackNames()
	var sent, recv uint64
	for _, n := range nics {
		if !loop[n.Name] {
			sent += n.BytesSent
			recv += n.BytesRecv
		}
	}
	m[MetricHostNetSentBytes] = sent
	m[MetricHostNetRecvBytes] = recv
	return nil
}

// loopbackNames names the loopback interfaces; on error none (so nothing
// is excluded rather than everything).
func loopbackNames() map[string]bool {
	ifs, err := net.Interfaces()
	if err != nil {
		return nil
	}
	names := make(map[string]bool, 1)
	for _, i := range ifs {
		if i.Flags&net.FlagLoopback != 0 {
			names[i.Name] = true
		}
	}
	return names
}

// systemRoot is the file system whose usage is reported: "/" on Unix, the
// system drive (where Windows is installed, %SystemDrive%) on Windows. The
// variable is a platform fact set by Windows itself, not configuration.
func systemRoot() string {
	if runtime.GOOS != "windows" {
		return "/"
	}
	if d := os.Getenv("SystemDrive"); len(d) == 2 && d[1] == ':' {
		return d + `\`
	}
	return `C:\`
}

// clampPct keeps rounding noise from leaving 0-100.
func clampPct(p float64) float64 {
	return min(max(p, 0), 100)
}

// HostSampler limits host sampling: Sample reads the host at most once per
// minimum interval and otherwise returns the cached reading. It is safe for
// concurrent use; a caller that arrives while another samples waits for
// that reading.
type HostSampler struct {
	every  time.Duration
	now    func() time.Time
	gather func(context.Context) (map[string]any, error)

	mu     sync.Mutex
	at     time.Time      // guarded by mu: when cached was read; zero = never
	cached map[string]any // guarded by mu; never handed out
	err    error          // guarded by mu: the error that came with cached
}

// NewHostSampler returns a sampler that reads HostMetrics at most once per
// every (zero or less: DefaultHostSampleMinimum), timed by now (nil:
// time.Now).
func NewHostSampler(every time.Duration, now func() time.Time) *HostSampler {
	if every <= 0 {
		every = DefaultHostSampleMinimum
	}
	if now == nil {
		now = time.Now
	}
	return &HostSampler{every: every, now: now, gather: HostMetrics}
}

// Sample returns the host metrics, read now if the last reading is at
// least the minimum interval old (or the clock went back), else a copy of
// the last reading and its error. A reading cut short by ctx is returned
// but not cached.
func (s *HostSampler) Sample(ctx context.Context) (map[string]any, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	if age := now.Sub(s.at); !s.at.IsZero() && age >= 0 && age < s.every {
		return maps.Clone(s.cached), s.err
	}
	m, err := s.gather(ctx)
	if ctx.Err() == nil {
		s.at, s.cached, s.err = now, m, err
	}
	return maps.Clone(m), err
}
