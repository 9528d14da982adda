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
	pending   map[string][]push         // device -> unacknowledged pushes; guarded by mu
	acks      map[string]map[string]ack // device -> property -> newest ac 200; guarded by mu
	pushes    int64                     // guarded by mu
	acked     int64                     // guarded by mu
	latencies []float64                 // ms, guarded by mu
}

// ack is the newest successful acknowledgement of one property.
type ack struct {
	version int
	at      time.Time
}

type push struct {
	version int
	keys    map[string]bool // properties still to be acknowledged
	at      time.Time
}

func newTwinTracker() *twinTracker {
	return &twinTracker{pending: make(map[string][]push), acks: make(map[string]map[string]ack)}
}

// pushed records a desired change sent at `at`. The device may have
// acknowledged it already (the notification leaves inside UpdateDesired),
// so acknowledgements seen before are checked first.
func (t *twinTracker) pushed(device string, version int, patch map[string]any, at time.Time) {
	keys := make(map[string]bool, len(patch))
	for k := range patch {
		keys[k] = true
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.pushes++
	p := push{version: version, keys: keys, at: at}
	if !t.settleLocked(device, &p) {
		t.pending[device] = append(t.pending[device], p)
	}
}

// settleLocked removes the keys of p already acknowledged at or after its
// version and, if none remain, counts p as acknowledged.
func (t *twinTracker) settleLocked(device string, p *push) bool {
	var last time.Time
	for k := range p.keys {
		if a, ok := t.acks[device][k]; ok && a.version >= p.version {
			delete(p.keys, k)
			if a.at.After(last) {
				last = a.at
			}
		}
	}
	if len(p.keys) > 0 {
		return false
	}
	t.acked++
	t.latencies = append(t.latencies, float64(max(0, last.Sub(p.at)))/float64(time.Millisecond))
	return true
}

// onReported runs on the hub's read path for every accepted reported patch.
func (t *twinTracker) onReported(device string, _ int, patch []byte) {
	now := time.Now()
	acks := parseAcks(patch)
	if len(acks) == 0 {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.acks[device] == nil {
		t.acks[device] = make(map[string]ack)
	}
	for k, a := range acks {
		if *a.AC == 200 && a.AV >= t.acks[device][k].version {
			t.acks[device][k] = ack{version: a.AV, at: now}
		}
	}
	list := t.pending[device]
	kept := list[:0]
	for _, p := range list {
		if !t.settleLocked(device, &p) {
			kept = append(kept, p)
		}
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

type ackJSON struct {
	AC *int `json:"ac"`
	AV int  `json:"av"`
}

// parseAcks picks the Plug and Play acknowledgements out of a reported
// patch; other members (read-only properties) are ignored.
func parseAcks(patch []byte) map[string]ackJSON {
	var members map[string]json.RawMessage
	if json.Unmarshal(patch, &members) != nil {
		return nil
	}
	out := map[string]ackJSON{}
	for k, raw := range members {
		var a ackJSON
		if json.Unmarshal(raw, &a) == nil && a.AC != nil {
			out[k] = a
		}
	}
	return out
}
