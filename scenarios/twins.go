package scenarios

import (
	"encoding/json"
	"sync"
	"time"
)

// twinTracker follows every desired change pushed to a device until the
// device acknowledges it (a reported ack with ac 200 and av >= the pushed
// $version for every property in the patch).
type twinTracker struct {
	mu        sync.Mutex
	pending   map[string][]push // device -> unacknowledged pushes; guarded by mu
	pushes    int64             // guarded by mu
	acked     int64             // guarded by mu
	latencies []float64         // ms, guarded by mu
}

type push struct {
	version int
	keys    map[string]bool // properties still to be acknowledged
	at      time.Time
}

func newTwinTracker() *twinTracker {
	return &twinTracker{pending: make(map[string][]push)}
}

func (t *twinTracker) pushed(device string, version int, patch map[string]any, at time.Time) {
	keys := make(map[string]bool, len(patch))
	for k := range patch {
		keys[k] = true
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.pushes++
	t.pending[device] = append(t.pending[device], push{version: version, keys: keys, at: at})
}

// onReported runs on the hub's read path for every accepted reported patch.
func (t *twinTracker) onReported(device string, _ int, patch []byte) {
	now := time.Now()
	var acks map[string]struct {
		AC int `json:"ac"`
		AV int `json:"av"`
	}
	if json.Unmarshal(patch, &acks) != nil {
		return // not (only) acknowledgements; nothing to track
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	list := t.pending[device]
	kept := list[:0]
	for _, p := range list {
		for k := range p.keys {
			if a, ok := acks[k]; ok && a.AC == 200 && a.AV >= p.version {
				delete(p.keys, k)
			}
		}
		if len(p.keys) > 0 {
			kept = append(kept, p)
			continue
		}
		t.acked++
		t.latencies = append(t.latencies, float64(now.Sub(p.at))/float64(time.Millisecond))
	}
	t.pending[device] = kept
}

func (t *twinTracker) allAcknowledged() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.acked == t.pushes
}

func (t *twinTracker) figures() (pushes, acked int64, latencies []float64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.pushes, t.acked, append([]float64(nil), t.latencies...)
}
