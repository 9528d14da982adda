package dps

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cloudpillar/cloudpillar/agent/identity"
	"github.com/cloudpillar/cloudpillar/agent/provision"
)

// BenchmarkRegister measures provisioning throughput: each operation is one
// device's whole phase 1 (bootstrap credential, P-384 key, CSR, TLS
// connect, register, poll, issued certificate), 16 x GOMAXPROCS devices at a time.
// `-benchtime 1000x` gives the rate for a 1,000-device fleet.
func BenchmarkRegister(b *testing.B) {
	f := newFixture(b, func(c *Config) { c.Logger = nil })
	var n atomic.Int64
	b.SetParallelism(16)
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			regID := fmt.Sprintf("bench-%06d", n.Add(1))
			cfg := f.config(b, regID)
			cfg.Logger = nil
			cfg.Certificate = f.bootstrap(b, regID)
			cfg.CSR, _ = csr(b, identity.P384, regID)
			if _, err := provision.Register(context.Background(), cfg); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "devices/s")
}
