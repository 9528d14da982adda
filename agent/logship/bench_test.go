package logship

import (
	"flag"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"sync"
	"testing"
	"time"
)

var largeMiB = flag.Int("logship.large", 1024, "size in MiB of the file BenchmarkUploadLargeFile uploads")

// BenchmarkUploadThroughput: a 64 MiB file to the test hub (hubsim's blob
// store and Blob REST server) over loopback TLS, 4 MiB blocks, no cap.
func BenchmarkUploadThroughput(b *testing.B) {
	for _, tc := range []struct {
		name string
		data func() []byte
	}{
		{"logText", func() []byte { return logText(60, 64<<20) }},
		{"incompressible", func() []byte { return noise(61, 64<<20) }},
	} {
		b.Run(tc.name, func(b *testing.B) {
			h := newTestHub(b)
			dir := b.TempDir()
			data := tc.data()
			writeFile(b, dir, "carto.log", data)
			cfg := h.config(b, dev, deviceLogs(dir))
			cfg.BlockSize = MaxBlockSize
			s, log := newShipper(b, cfg)
			run(b, s)
			b.SetBytes(int64(len(data)))
			var compressed int64
			for b.Loop() {
				st := log.finished(b, s.Request(time.Time{}, time.Time{}, nil), 10*time.Minute)
				if st["state"] != StateDone {
					b.Fatalf("job %v: %v", st["state"], st["error"])
				}
				compressed = st["bytes"].(int64)
			}
			b.ReportMetric(float64(compressed)/float64(len(data)), "ratio")
		})
	}
}

// BenchmarkUploadLargeFile uploads one -logship.large MiB file and reports
// the peak live heap above the level before the upload (budget: constant,
// at most 16 MiB). Run with -benchtime=1x.
func BenchmarkUploadLargeFile(b *testing.B) {
	h := newTestHub(b)
	dir := b.TempDir()
	path := filepath.Join(dir, "carto.log")
	writeLarge(b, path, int64(*largeMiB)<<20)
	cfg := h.config(b, dev, deviceLogs(dir))
	cfg.BlockSize = MaxBlockSize
	s, log := newShipper(b, cfg)
	run(b, s)
	b.SetBytes(int64(*largeMiB) << 20)
	for b.Loop() {
		runtime.GC()
		base := liveHeap()
		stop := sampleHeap()
		st := log.finished(b, s.Request(time.Time{}, time.Time{}, nil), time.Hour)
		peakLive, peakAlloc := stop()
		if st["state"] != StateDone {
			b.Fatalf("job %v: %v", st["state"], st["error"])
		}
		b.ReportMetric(float64(peakLive-base)/(1<<20), "MiB-live-above-idle")
		b.ReportMetric(float64(peakAlloc-base)/(1<<20), "MiB-heap-above-idle")
	}
}

// writeLarge writes n bytes of log-like text with incompressible stretches.
func writeLarge(b *testing.B, path string, n int64) {
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	text, junk := logText(62, 8<<20), noise(62, 8<<20)
	r := rand.New(rand.NewPCG(1, 2))
	for written := int64(0); written < n; {
		chunk := text
		if r.IntN(4) == 0 {
			chunk = junk
		}
		chunk = chunk[:min(int64(len(chunk)), n-written)]
		if _, err := f.Write(chunk); err != nil {
			b.Fatal(err)
		}
		written += int64(len(chunk))
	}
}

func liveHeap() uint64 {
	s := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}

// sampleHeap records the peak live heap and heap in use until stopped.
func sampleHeap() (stop func() (peakLive, peakAlloc uint64)) {
	done := make(chan struct{})
	var wg sync.WaitGroup
	var live, alloc uint64
	wg.Go(func() {
		t := time.NewTicker(10 * time.Millisecond)
		defer t.Stop()
		var ms runtime.MemStats
		for {
			live = max(live, liveHeap())
			runtime.ReadMemStats(&ms)
			alloc = max(alloc, ms.HeapAlloc)
			select {
			case <-done:
				return
			case <-t.C:
			}
		}
	})
	return func() (uint64, uint64) {
		close(done)
		wg.Wait()
		return live, alloc
	}
}
