package conformance_test

import (
	"strings"
	"sync"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/cloudpillar/cloudpillar/hubsim"
	"github.com/cloudpillar/cloudpillar/hubsim/eventlog"
	"github.com/cloudpillar/cloudpillar/hubsim/hubtest"
)

const waitFor = 10 * time.Second

// inbox collects the messages a raw client receives, in order.
type inbox struct {
	mu   sync.Mutex
	msgs []paho.Message
}

func (b *inbox) handler(_ paho.Client, m paho.Message) {
	b.mu.Lock()
	b.msgs = append(b.msgs, m)
	b.mu.Unlock()
}

func (b *inbox) all() []paho.Message {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]paho.Message(nil), b.msgs...)
}

func (b *inbox) topics() []string {
	var out []string
	for _, m := range b.all() {
		out = append(out, m.Topic())
	}
	return out
}

// find returns the first message whose topic starts with prefix.
func (b *inbox) find(prefix string) (paho.Message, bool) {
	for _, m := range b.all() {
		if strings.HasPrefix(m.Topic(), prefix) {
			return m, true
		}
	}
	return nil, false
}

// wait polls until a message with the topic prefix arrived.
func (b *inbox) wait(t testing.TB, prefix string) paho.Message {
	t.Helper()
	var m paho.Message
	hubtest.Eventually(t, waitFor, func() bool {
		var ok bool
		m, ok = b.find(prefix)
		return ok
	}, "no message on %s; got %q", prefix, b.topics())
	return m
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// waitClosed polls until the hub has closed c's connection.
func waitClosed(t testing.TB, c paho.Client, why string) {
	t.Helper()
	hubtest.Eventually(t, waitFor, func() bool { return !c.IsConnectionOpen() }, "connection still open after %s", why)
}

// lastEvent waits for a device's n-th recorded event and returns it.
func event(t testing.TB, h *hubsim.Hub, deviceID string, n int) eventlog.Event {
	t.Helper()
	var got []eventlog.Event
	hubtest.Eventually(t, waitFor, func() bool {
		got = got[:0]
		for _, e := range h.Events().Events() {
			if e.DeviceID == deviceID {
				got = append(got, e)
			}
		}
		return len(got) >= n
	}, "device %s: %d events recorded, want %d", deviceID, len(got), n)
	return got[n-1]
}

// subscribe subscribes c and returns the granted QoS (0x80 = refused).
func subscribe(t testing.TB, c paho.Client, filter string, qos byte, cb paho.MessageHandler) byte {
	t.Helper()
	tok := c.Subscribe(filter, qos, cb)
	must(t, hubtest.Wait(tok))
	return tok.(*paho.SubscribeToken).Result()[filter]
}
