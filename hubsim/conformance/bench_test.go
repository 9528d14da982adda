package conformance_test

import (
	"crypto/tls"
	"fmt"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/cloudpillar/cloudpillar/hubsim/hubtest"
)

const benchClients = 16

// BenchmarkD2CIngestQoS1 publishes b.N QoS 1 telemetry messages (200-byte
// JSON, a $.mid each) from 16 paho clients over TLS into hubsim, and the
// same into a raw mochi server, alternating in chunks so both see the same
// machine state. Figures: hub_msgs/s, raw_msgs/s and hub/raw (DESIGN.md §6:
// >= 0.80).
func BenchmarkD2CIngestQoS1(b *testing.B) {
	h := quietHub(b)
	hubClients := make([]paho.Client, benchClients)
	for i := range hubClients {
		id := "bench-" + strconv.Itoa(i)
		hubClients[i] = hubtest.Connect(b, hubtest.RawOptions(h, id, hubtest.Device(b, h, id)))
	}
	addr, ca := rawMochi(b)
	rawClients := make([]paho.Client, benchClients)
	for i := range rawClients {
		o := paho.NewClientOptions().AddBroker("tls://" + addr).SetClientID("raw-" + strconv.Itoa(i))
		o.SetTLSConfig(&tls.Config{RootCAs: ca.Pool(), ServerName: "localhost"}).SetAutoReconnect(false)
		rawClients[i] = hubtest.Connect(b, o)
	}
	body := []byte(fmt.Sprintf(`{"temperature":21.5,"pad":"%0170d"}`, 0))
	var hubDur, rawDur time.Duration
	var seq atomic.Int64
	b.ResetTimer()
	for done := 0; done < b.N; {
		n := min(20000, b.N-done)
		rawDur += publishAll(b, rawClients, n, body, &seq)
		hubDur += publishAll(b, hubClients, n, body, &seq)
		done += n
	}
	b.StopTimer()
	hubRate, rawRate := float64(b.N)/hubDur.Seconds(), float64(b.N)/rawDur.Seconds()
	b.ReportMetric(hubRate, "hub_msgs/s")
	b.ReportMetric(rawRate, "raw_msgs/s")
	b.ReportMetric(hubRate/rawRate, "hub/raw")
	if got := h.Events().Stats().Received; got != int64(b.N) && b.N > 1 {
		b.Fatalf("hub recorded %d of %d messages", got, b.N)
	}
}

// publishAll publishes n messages spread over the clients, each keeping up
// to 64 unacknowledged, and returns the wall time until the last PUBACK.
func publishAll(b *testing.B, clients []paho.Client, n int, body []byte, seq *atomic.Int64) time.Duration {
	start := time.Now()
	var wg sync.WaitGroup
	for i, c := range clients {
		share := n / len(clients)
		if i < n%len(clients) {
			share++
		}
		wg.Add(1)
		go func(c paho.Client, id string, share int) {
			defer wg.Done()
			window := make([]paho.Token, 0, 64)
			for j := 0; j < share; j++ {
				if len(window) == cap(window) {
					waitToken(b, window[0])
					window = window[1:]
				}
				mid := strconv.FormatInt(seq.Add(1), 10)
				window = append(window, c.Publish("devices/"+id+"/messages/events/%24.mid="+mid, 1, false, body))
			}
			for _, t := range window {
				waitToken(b, t)
			}
		}(c, clientID(c), share)
	}
	wg.Wait()
	return time.Since(start)
}

func clientID(c paho.Client) string {
	r := c.OptionsReader()
	return r.ClientID()
}

func waitToken(b *testing.B, t paho.Token) {
	if err := hubtest.Wait(t); err != nil {
		b.Error(err)
	}
}

// BenchmarkX509Connect measures X.509 TLS device connects into hubsim (TLS
// handshake with a client certificate, CONNECT, chain check, CONNACK,
// close), and bare TLS handshakes with the same certificates against a
// listener that only handshakes, in the same run. Figures: connects/s,
// tls_handshakes/s, and their ratio (DESIGN.md §6: >= 0.70).
func BenchmarkX509Connect(b *testing.B) {
	h := quietHub(b)
	par := runtime.GOMAXPROCS(0) * 4
	ids := make([]string, par)
	certs := make([]tls.Certificate, par)
	for i := range ids {
		ids[i] = "conn-" + strconv.Itoa(i)
		certs[i] = hubtest.Device(b, h, ids[i])
	}
	tlsAddr := handshakeOnly(b, h)
	hubOp := func(w int) {
		cfg := &tls.Config{RootCAs: h.CA().Pool(), ServerName: h.HostName(), Certificates: certs[w : w+1]}
		c := rawConnect(b, h.MQTTAddr(), cfg, ids[w], h.HostName()+"/"+ids[w]+"/?api-version=2021-04-12")
		c.Write([]byte{0xe0, 0}) // DISCONNECT
		c.Close()
	}
	tlsOp := func(w int) {
		cfg := &tls.Config{RootCAs: h.CA().Pool(), ServerName: h.HostName(), Certificates: certs[w : w+1]}
		c, err := tls.Dial("tcp", tlsAddr, cfg)
		if err != nil {
			b.Error(err)
			return
		}
		c.Close()
	}
	var hubDur, tlsDur time.Duration
	b.ResetTimer()
	for done := 0; done < b.N; { // alternate in chunks: both see the same machine load
		n := min(200, b.N-done)
		hubDur += parallelOps(n, par, hubOp)
		tlsDur += parallelOps(n, par, tlsOp)
		done += n
	}
	b.StopTimer()
	hubRate, tlsRate := float64(b.N)/hubDur.Seconds(), float64(b.N)/tlsDur.Seconds()
	b.ReportMetric(hubRate, "connects/s")
	b.ReportMetric(tlsRate, "tls_handshakes/s")
	b.ReportMetric(hubRate/tlsRate, "connect/handshake")
}

// parallelOps runs n ops on par workers (op gets the worker index) and
// returns the wall time.
func parallelOps(n, par int, op func(worker int)) time.Duration {
	var next atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	for w := 0; w < par; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for next.Add(1) <= int64(n) {
				op(w)
			}
		}(w)
	}
	wg.Wait()
	return time.Since(start)
}

// BenchmarkTwinReportedPatch measures reported-property PATCH round trips
// (QoS 0 request, wait for the 204) from 16 clients in parallel.
func BenchmarkTwinReportedPatch(b *testing.B) {
	h := quietHub(b)
	type dev struct {
		c    paho.Client
		resp chan struct{}
	}
	devs := make([]dev, benchClients)
	for i := range devs {
		id := "twin-" + strconv.Itoa(i)
		d := dev{resp: make(chan struct{}, 1)}
		d.c = hubtest.Connect(b, hubtest.RawOptions(h, id, hubtest.Device(b, h, id)))
		subscribe(b, d.c, "$iothub/twin/res/#", 0, func(paho.Client, paho.Message) { d.resp <- struct{}{} })
		devs[i] = d
	}
	b.ResetTimer()
	dur := parallelOps(b.N, len(devs), func(w int) {
		d := devs[w]
		d.c.Publish("$iothub/twin/PATCH/properties/reported/?$rid=1", 0, false, `{"temperature":21.5,"fw":"1.2.3"}`)
		select {
		case <-d.resp:
		case <-time.After(waitFor):
			b.Error("no twin response")
		}
	})
	b.StopTimer()
	b.ReportMetric(float64(b.N)/dur.Seconds(), "roundtrips/s")
}
