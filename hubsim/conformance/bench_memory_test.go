package conformance_test

import (
	"crypto/tls"
	"net"
	"runtime"
	"strconv"
	"testing"

	"github.com/cloudpillar/cloudpillar/hubsim/hubtest"
)

const idleDevices = 500

// memory returns live heap and stack bytes after a full collection.
func memory() (heap, stack uint64) {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc, m.StackInuse
}

// perDevice measures what holding n connections opened by open costs.
// settle waits until the server side has taken them all in.
func perDevice(n int, open func(i int) net.Conn, settle func()) (heap, stack float64) {
	conns := make([]net.Conn, 0, n)
	h0, s0 := memory()
	for i := 0; i < n; i++ {
		conns = append(conns, open(i))
	}
	settle()
	h1, s1 := memory()
	for _, c := range conns {
		c.Close()
	}
	return float64(int64(h1)-int64(h0)) / float64(n), float64(int64(s1)-int64(s0)) / float64(n)
}

// BenchmarkIdleDeviceMemory connects 500 idle X.509 devices to hubsim and
// reports heap and stack bytes per device, both ends in this process (the
// client end is a bare tls.Conn, the least a client can hold). The same is
// measured for 500 bare TLS connections held open by a server goroutine
// each: hub_heap_B/dev minus bare_tls_heap_B/dev approximates the MQTT
// session's cost on the hub (DESIGN.md §6: ~80 KiB per device for mochi +
// paho + TLS both ends; issue budget <= 60 KiB on the hub side). Registry
// entries and twins are created before the first measurement and reported
// apart. Run with -benchtime=1x.
func BenchmarkIdleDeviceMemory(b *testing.B) {
	h := quietHub(b)
	ids := make([]string, idleDevices)
	certs := make([]tls.Certificate, idleDevices)
	for i := range ids {
		ids[i] = "idle-" + strconv.Itoa(i)
		certs[i] = hubtest.Cert(b, h.CA(), ids[i])
	}
	r0, _ := memory()
	for _, id := range ids {
		must(b, h.CreateDevice(id))
	}
	r1, _ := memory()
	hubHeap, hubStack := perDevice(idleDevices, func(i int) net.Conn {
		cfg := &tls.Config{RootCAs: h.CA().Pool(), ServerName: h.HostName(), Certificates: certs[i : i+1]}
		return rawConnect(b, h.MQTTAddr(), cfg, ids[i], h.HostName()+"/"+ids[i]+"/?api-version=2021-04-12")
	}, func() {
		hubtest.Eventually(b, waitFor, func() bool { return h.Registry().ConnectedCount() == idleDevices },
			"%d devices connected, want %d", h.Registry().ConnectedCount(), idleDevices)
	})
	addr := holdOpen(b, h.CA())
	tlsHeap, tlsStack := perDevice(idleDevices, func(i int) net.Conn {
		cfg := &tls.Config{RootCAs: h.CA().Pool(), ServerName: "localhost", Certificates: certs[i : i+1]}
		c, err := tls.Dial("tcp", addr, cfg)
		must(b, err)
		c.Handshake()
		return c
	}, func() {})
	b.ReportMetric(hubHeap, "hub_heap_B/dev")
	b.ReportMetric(hubStack, "hub_stack_B/dev")
	b.ReportMetric(tlsHeap, "bare_tls_heap_B/dev")
	b.ReportMetric(tlsStack, "bare_tls_stack_B/dev")
	b.ReportMetric(hubHeap-tlsHeap, "session_heap_B/dev")
	b.ReportMetric(float64(int64(r1)-int64(r0))/idleDevices, "registry+twin_B/dev")
}
