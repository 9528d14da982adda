package hubsim_test

import (
	"context"
	"crypto/tls"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/cloudpillar/cloudpillar/agent/telemetry"
	"github.com/cloudpillar/cloudpillar/hubsim"
	"github.com/cloudpillar/cloudpillar/hubsim/c2d"
	"github.com/cloudpillar/cloudpillar/hubsim/eventlog"
	"github.com/cloudpillar/cloudpillar/hubsim/hubtest"
	"github.com/cloudpillar/cloudpillar/hubsim/registry"
	"github.com/cloudpillar/cloudpillar/hubsim/twinstore"
	"github.com/cloudpillar/cloudpillar/internal/leakcheck"
	"github.com/cloudpillar/cloudpillar/internal/testpki"
)

// startStateHub starts a hub keeping its state in dir, trusting ca. close
// stops it (idempotent; also at cleanup).
func startStateHub(t *testing.T, dir string, ca *testpki.CA) (h *hubsim.Hub, close func()) {
	t.Helper()
	h, err := hubsim.New(hubsim.Config{StateDir: dir, CA: ca, StateFlushInterval: 20 * time.Millisecond,
		Logger: slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))})
	if err != nil {
		t.Fatalf("hubsim.New on %s: %v", dir, err)
	}
	if err := h.Start(); err != nil {
		t.Fatal(err)
	}
	done := false
	close = func() {
		if done {
			return
		}
		done = true
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := h.Close(ctx); err != nil {
			t.Errorf("hub Close: %v", err)
		}
	}
	t.Cleanup(close)
	return h, close
}

// hubState is what a hub restart must keep.
type hubState struct {
	devices  []registry.Device
	twins    map[string]twinstore.Twin
	stats    eventlog.Stats
	seen     map[string]int
	queued   map[string]int
	feedback []c2d.Feedback
}

func stateOf(t *testing.T, h *hubsim.Hub, ids []string) hubState {
	t.Helper()
	s := hubState{twins: map[string]twinstore.Twin{}, seen: map[string]int{}, queued: map[string]int{},
		stats: h.Events().Stats(), feedback: h.C2DFeedback()}
	for _, d := range h.Registry().List() {
		d.Connected, d.ConnectionStateUpdatedTime = false, time.Time{} // connection state is not kept
		d.StatusUpdatedTime = d.StatusUpdatedTime.UTC().Round(0)       // the instant is kept, not the monotonic reading
		s.devices = append(s.devices, d)
	}
	for _, d := range s.devices {
		tw, err := h.Twin(d.ID)
		if err != nil {
			t.Fatalf("Twin(%s): %v", d.ID, err)
		}
		s.twins[d.ID] = tw
		s.queued[d.ID] = h.C2DQueueLength(d.ID)
	}
	for _, id := range ids {
		s.seen[id] = h.Events().Seen("dev-ca", id)
	}
	return s
}

// TestStateSurvivesANewHubOnTheSameDir: a hub started on the state
// directory of a closed one has its devices (every authentication type,
// status, keys, etags, generation ids), twins (same versions, etags,
// $metadata), event counts and C2D queues; a device connects again with
// the same certificate and a SAS device with the same keys, and the queued
// message is delivered.
func TestStateSurvivesANewHubOnTheSameDir(t *testing.T) {
	leakcheck.Check(t, 10*time.Second)
	dir := t.TempDir()
	ca, err := testpki.NewCA("hubsim state test CA")
	if err != nil {
		t.Fatal(err)
	}
	h1, close1 := startStateHub(t, dir, ca)
	cert := hubtest.Device(t, h1, "dev-ca")
	must(t, h1.CreateDevice("dev-c2d"))
	_, err = h1.CreateSASDevice("dev-sas")
	must(t, err)
	_, err = h1.CreateSelfSignedDevice("dev-self", strings.Repeat("AB", 20), strings.Repeat("cd", 32))
	must(t, err)
	_, err = h1.AddDevice(registry.Device{ID: "dev-ca/mod"})
	must(t, err)
	must(t, h1.Registry().SetStatus("dev-self", registry.StatusDisabled))
	for _, p := range []string{`{"telemetry":{"interval":7},"x":1}`, `{"x":null,"y":"two"}`} {
		_, err := h1.UpdateDesired("dev-ca", []byte(p))
		must(t, err)
	}
	must(t, h1.Twins().PatchTags("dev-ca", []byte(`{"site":"s1","floor":3}`)))

	a, stop := runAgent(t, h1, "dev-ca", cert)
	hubtest.Eventually(t, 15*time.Second, func() bool { return a.Stats().Delivered >= 5 }, "agent delivered fewer than 5 messages")
	stop()
	ids := []string{telemetry.MessageID("dev-ca", a.Boot(), 1), telemetry.MessageID("dev-ca", a.Boot(), 2)}
	h1.Events().Append(eventlog.Event{DeviceID: "dev-ca", MessageID: ids[0]}) // a duplicate
	h1.Events().Append(eventlog.Event{DeviceID: "dev-sas"})                   // no id
	must(t, h1.SendC2D("dev-c2d", c2d.Message{MessageID: "c1", Ack: c2d.AckFull, Body: []byte("hello")}))
	must(t, h1.SendC2D("dev-sas", c2d.Message{MessageID: "c2", Ack: c2d.AckFull}))
	must(t, h1.DeleteDevice("dev-sas")) // purged: feedback, no device, no twin
	_, err = h1.CreateSASDevice("dev-sas")
	must(t, err)
	want := stateOf(t, h1, ids)
	if want.stats.Duplicates != 1 || want.stats.NoID != 1 || len(want.feedback) != 1 {
		t.Fatalf("setup: stats %+v, feedback %+v", want.stats, want.feedback)
	}
	close1()

	h2, _ := startStateHub(t, dir, ca)
	got := stateOf(t, h2, ids)
	if !reflect.DeepEqual(got.devices, want.devices) {
		t.Errorf("devices after restart:\n%+v\nwant\n%+v", got.devices, want.devices)
	}
	if !reflect.DeepEqual(got.twins, want.twins) {
		t.Errorf("twins after restart:\n%+v\nwant\n%+v", got.twins, want.twins)
	}
	if got.stats != want.stats || !reflect.DeepEqual(got.seen, want.seen) {
		t.Errorf("events after restart: %+v %v, want %+v %v", got.stats, got.seen, want.stats, want.seen)
	}
	if !reflect.DeepEqual(got.queued, want.queued) || !reflect.DeepEqual(got.feedback, want.feedback) {
		t.Errorf("C2D after restart: %v %+v, want %v %+v", got.queued, got.feedback, want.queued, want.feedback)
	}

	hubtest.Connect(t, hubtest.SASOptions(t, h2, "dev-sas"))
	checkC2DDelivered(t, h2, "dev-c2d", hubtest.Cert(t, ca, "dev-c2d"), "hello")
	a2, _ := runAgent(t, h2, "dev-ca", cert)
	hubtest.Eventually(t, 15*time.Second, func() bool { return a2.Stats().Delivered >= 1 }, "dev-ca did not connect again with its certificate")
}

// checkC2DDelivered connects device id and waits for a C2D message with body.
func checkC2DDelivered(t *testing.T, h *hubsim.Hub, id string, cert tls.Certificate, body string) {
	t.Helper()
	c := hubtest.Connect(t, hubtest.RawOptions(h, id, cert))
	var box inbox
	must(t, hubtest.Wait(c.Subscribe("devices/"+id+"/messages/devicebound/#", 1, box.handler)))
	hubtest.Eventually(t, 10*time.Second, func() bool {
		m, ok := box.find("devices/" + id + "/messages/devicebound/")
		return ok && string(m.Payload()) == body
	}, "queued C2D message %q not delivered to %s after the restart", body, id)
	hubtest.Eventually(t, 10*time.Second, func() bool { return h.C2DQueueLength(id) == 0 }, "C2D message not completed")
}

// TestStateDirHeldByARunningHub: a second hub on the same state directory
// fails clearly instead of sharing (and corrupting) it.
func TestStateDirHeldByARunningHub(t *testing.T) {
	leakcheck.Check(t, 10*time.Second)
	dir := t.TempDir()
	startStateHub(t, dir, nil)
	_, err := hubsim.New(hubsim.Config{StateDir: dir})
	if err == nil || !strings.Contains(err.Error(), "another hub") {
		t.Fatalf("second hubsim.New on a held state dir = %v, want an error naming another hub", err)
	}
}

// TestStateFlushesWhileRunning: changes reach hub.db while the hub runs,
// and later flushes update them: a device deleted after it was saved is
// gone after a restart, a twin changed again has its last version, a
// message recorded again counts twice.
func TestStateFlushesWhileRunning(t *testing.T) {
	leakcheck.Check(t, 10*time.Second)
	dir := t.TempDir()
	h1, close1 := startStateHub(t, dir, nil)
	db := filepath.Join(dir, "hub.db")
	saved := func() time.Time {
		st, err := os.Stat(db)
		if err != nil {
			t.Fatal(err)
		}
		return st.ModTime()
	}
	before := saved()
	for _, id := range []string{"kept", "gone"} {
		must(t, h1.CreateDevice(id))
	}
	_, err := h1.UpdateDesired("kept", []byte(`{"a":1}`))
	must(t, err)
	h1.Events().Append(eventlog.Event{DeviceID: "kept", MessageID: "m1"})
	hubtest.Eventually(t, 10*time.Second, func() bool { return saved().After(before) }, "hub.db not written while the hub runs")

	must(t, h1.DeleteDevice("gone"))
	_, err = h1.UpdateDesired("kept", []byte(`{"a":2}`))
	must(t, err)
	h1.Events().Append(eventlog.Event{DeviceID: "kept", MessageID: "m1"})
	want, _ := h1.Twin("kept")
	close1()

	h2, _ := startStateHub(t, dir, nil)
	if _, err := h2.Registry().Get("gone"); err == nil {
		t.Error("a deleted device came back")
	}
	if _, err := h2.Twin("gone"); err == nil {
		t.Error("a deleted device's twin came back")
	}
	if got, _ := h2.Twin("kept"); got.Desired.Version != want.Desired.Version || got.ETag != want.ETag {
		t.Errorf("twin after restart: desired $version %d etag %s, want %d %s", got.Desired.Version, got.ETag, want.Desired.Version, want.ETag)
	}
	if n := h2.Events().Seen("kept", "m1"); n != 2 {
		t.Errorf("Seen(kept, m1) after restart = %d, want 2", n)
	}
}
