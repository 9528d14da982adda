package logship

import (
	"net"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/cloudpillar/cloudpillar/chaos"
	"github.com/cloudpillar/cloudpillar/internal/leakcheck"
)

// TestUploadResumesAfterAgentRestart: the agent stops with a block in
// flight; a new Shipper on the same store continues from the last staged
// block, sending only the interrupted block again (issue 6, resumable).
func TestUploadResumesAfterAgentRestart(t *testing.T) {
	leakcheck.Check(t, 5*time.Second)
	h := newTestHub(t)
	dir := t.TempDir()
	want := noise(30, 500<<10)
	writeFile(t, dir, "carto.log", want)
	store := NewMemoryStore()
	reached, release := make(chan struct{}), make(chan struct{})
	var once sync.Once
	perID := map[string]int{}
	var mu sync.Mutex
	h.setFault(func(o string, w http.ResponseWriter, r *http.Request) bool {
		if o != hookBlock {
			return false
		}
		mu.Lock()
		perID[r.URL.Query().Get("blockid")]++
		n := len(perID)
		mu.Unlock()
		if n == 4 {
			once.Do(func() { close(reached); <-release }) // hold block 4 until the agent is gone
		}
		return false
	})
	cfg := h.config(t, dev, deviceLogs(dir))
	cfg.Store = store
	s1, _ := newShipper(t, cfg)
	stop1 := run(t, s1)
	id := s1.Request(time.Time{}, time.Time{}, nil)
	<-reached
	stop1() // the agent stops (restart, power loss after the last commit)
	close(release)

	s2, log := newShipper(t, cfg)
	if st, ok := s2.Status(id); !ok || st["state"] == StateDone {
		t.Fatalf("after restart the job is %v (known %v)", st, ok)
	}
	run(t, s2)
	st := log.finished(t, id, 30*time.Second)
	checkDelivered(t, h, dev, st, 1, want)
	mu.Lock()
	defer mu.Unlock()
	for bid, n := range perID {
		if n > 2 {
			t.Errorf("block %s sent %d times", bid, n)
		}
	}
	if h.count(hookBlock) > len(perID)+1 {
		t.Errorf("%d Put Block requests for %d blocks: more than the interrupted one re-sent", h.count(hookBlock), len(perID))
	}
	if h.count(hookStart) != 1 {
		t.Errorf("%d upload requests, want 1: the resumed session keeps its SAS while it is valid", h.count(hookStart))
	}
}

// TestUploadResumesAfterAPartition: the site's network silently drops
// traffic (no FIN, no RST) mid-upload; after it heals the upload continues
// from the last staged block (REQ-LOG-003).
func TestUploadResumesAfterAPartition(t *testing.T) {
	leakcheck.Check(t, 5*time.Second)
	h := newTestHub(t)
	dir := t.TempDir()
	want := noise(31, 500<<10)
	writeFile(t, dir, "carto.log", want)
	network := chaos.NewNetwork(nil)
	var dialer net.Dialer
	cfg := h.config(t, dev, deviceLogs(dir))
	cfg.Dial = DialFunc(network.Dialer("site-01", dialer.DialContext))
	cfg.RequestTimeout = time.Second
	cut := make(chan struct{})
	var once sync.Once
	h.setFault(func(o string, w http.ResponseWriter, r *http.Request) bool {
		if o == hookBlock && h.count(hookBlock) == 3 {
			once.Do(func() { network.Partition("site-01"); close(cut) })
		}
		return false
	})
	s, log := newShipper(t, cfg)
	run(t, s)
	id := s.Request(time.Time{}, time.Time{}, nil)
	<-cut
	waitFor(t, 10*time.Second, "the job to notice the partition", func() bool { return log.state(id) == StateRetrying })
	time.Sleep(2 * time.Second)
	network.Heal("site-01")
	st := log.finished(t, id, 30*time.Second)
	checkDelivered(t, h, dev, st, 1, want)
	if r := st["resentBlocks"].(int); r < 1 || r > 2 {
		t.Errorf("resentBlocks = %d, want the one or two blocks in flight", r)
	}
}
