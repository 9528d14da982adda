package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/shirou/gopsutil/v4/process"

	"github.com/cloudpillar/cloudpillar/hubsim"
	"github.com/cloudpillar/cloudpillar/hubsim/hubtest"
)

// BenchmarkAgentFootprint measures the shipped binary as a process of its
// own against a hub on loopback: binary size, resident memory and CPU,
// idle (telemetry once an hour), at 1 message/s (the config's floor) and at
// 10 messages/s (the same code linked with telemetryIntervalOverride=100ms,
// linkflags.go). DESIGN.md §6 budgets: RSS <= 25 MiB, idle CPU <= 0.5 % of
// a core, binary <= 20 MiB. It runs each phase once, whatever b.N is:
//
//	go test -run '^$' -bench AgentFootprint -benchtime 1x ./cmd/cloudpillar-agent/
func BenchmarkAgentFootprint(b *testing.B) {
	if runtime.GOOS != "linux" {
		b.Skip("reads process figures through gopsutil on linux")
	}
	dir := b.TempDir()
	bin := buildAgent(b, dir, "cloudpillar-agent")
	fast := buildAgent(b, dir, "cloudpillar-agent-10hz", "-ldflags", "-X main.telemetryIntervalOverride=100ms")
	st, _ := os.Stat(bin)
	b.ReportMetric(float64(st.Size())/(1<<20), "binary-MiB")
	h := hubtest.NewHub(b, hubsim.Config{})
	for _, phase := range []struct {
		name, bin string
		interval  int
	}{{"idle", bin, 3600}, {"1msgs", bin, 1}, {"10msgs", fast, 1}} {
		rss, cpu, sent := measureAgent(b, h, dir, phase.bin, phase.name, phase.interval, 20*time.Second)
		b.ReportMetric(rss, phase.name+"-RSS-MiB")
		b.ReportMetric(cpu, phase.name+"-CPU-%")
		b.ReportMetric(sent, phase.name+"-msgs/s")
	}
}

// buildAgent builds the agent into dir/name with extra go build flags.
func buildAgent(b *testing.B, dir, name string, flags ...string) string {
	bin := filepath.Join(dir, name)
	args := append([]string{"build", "-trimpath", "-o", bin}, flags...)
	build := exec.Command("go", append(args, ".")...)
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		b.Fatalf("build %s: %v\n%s", name, err, out)
	}
	return bin
}

// measureAgent runs the binary bin for d after it connected and returns
// its peak RSS (MiB), average CPU (% of one core) and the telemetry
// messages per second the hub recorded from it over that time.
func measureAgent(b *testing.B, h *hubsim.Hub, dir, bin, name string, interval int, d time.Duration) (rssMiB, cpuPct, msgsPerSec float64) {
	devDir := filepath.Join(dir, name)
	os.MkdirAll(devDir, 0o700)
	writeDevice(b, h, devDir, "fp-"+name)
	cfg := filepath.Join(devDir, "agent.yaml")
	writeFile(b, cfg, fmt.Sprintf(`hubHostName: %s
hubAddress: %s
caFile: ca.pem
certFile: cert.pem
keyFile: key.pem
deviceId: fp-%s
storePath: agent.db
healthAddress: ""
telemetryIntervalSeconds: %d
logLevel: warn
`, h.HostName(), h.MQTTAddr(), name, interval))
	cmd := exec.Command(bin, "--config", cfg)
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	defer func() { cmd.Process.Signal(os.Interrupt); cmd.Wait() }()
	hubtest.Eventually(b, 20*time.Second, func() bool {
		dev, err := h.Registry().Get("fp-" + name)
		return err == nil && dev.Connected
	}, "agent %s never connected", name)
	p, err := process.NewProcess(int32(cmd.Process.Pid))
	if err != nil {
		b.Fatal(err)
	}
	t0, _ := p.Times()
	n0 := h.Events().DeviceCount("fp-" + name)
	start := time.Now()
	var peak uint64
	for time.Since(start) < d {
		if mi, err := p.MemoryInfo(); err == nil {
			peak = max(peak, mi.RSS)
		}
		time.Sleep(200 * time.Millisecond)
	}
	t1, _ := p.Times()
	n1 := h.Events().DeviceCount("fp-" + name)
	used := (t1.User + t1.System) - (t0.User + t0.System)
	secs := time.Since(start).Seconds()
	return float64(peak) / (1 << 20), 100 * used / secs, float64(n1-n0) / secs
}
