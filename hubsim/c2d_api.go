package hubsim

import (
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cloudpillar/cloudpillar/hubsim/c2d"
	"github.com/cloudpillar/cloudpillar/hubsim/registry"
)

// SendC2D queues a cloud-to-device message for a device and delivers it at
// once if the device is connected and subscribed to
// `devices/{id}/messages/devicebound/#`; otherwise it waits (a CleanSession=0
// device gets it when it reconnects). Errors are *c2d.Error: 404001
// DeviceNotFound, 403004 DeviceMaximumQueueDepthExceeded, 400004 for an
// oversize or already expired message.
func (h *Hub) SendC2D(deviceID string, msg c2d.Message) error {
	dev, err := h.registry.Get(deviceID)
	if err != nil {
		return fmt.Errorf("send C2D to %q: %w", deviceID, c2d.ErrDeviceNotFound)
	}
	if _, mod := registry.Split(deviceID); mod != "" {
		return fmt.Errorf("send C2D to %q: %w: modules have no C2D queue", deviceID, c2d.ErrInvalid)
	}
	if err := h.c2d.Enqueue(deviceID, dev.GenerationID, msg, h.cfg.Now()); err != nil {
		return fmt.Errorf("send C2D to %q: %w", deviceID, err)
	}
	h.hook.DeliverC2D(deviceID)
	h.redeliv.kick() // the message's expiry may be the next deadline
	return nil
}

// C2DFeedback returns the feedback records so far (for messages whose Ack
// asked for them), oldest first.
func (h *Hub) C2DFeedback() []c2d.Feedback { return h.c2d.Feedback() }

// C2DQueueLength returns how many C2D messages wait for a device,
// delivered-but-unacknowledged ones included.
func (h *Hub) C2DQueueLength(deviceID string) int { return h.c2d.Len(deviceID) }

// redeliverer is the goroutine that applies time to the C2D queues: it
// sleeps until the next lock or expiry deadline, ticks the store and
// delivers what became available. Owned by the Hub: started in Start,
// stopped (and waited for) in Close.
type redeliverer struct {
	h       *Hub
	kickc   chan struct{} // a deadline may have moved earlier; buffered 1
	quit    chan struct{}
	done    chan struct{}
	once    sync.Once // start
	stopped sync.Once
	ran     atomic.Bool // the goroutine was started
}

func newRedeliverer(h *Hub) *redeliverer {
	return &redeliverer{h: h, kickc: make(chan struct{}, 1), quit: make(chan struct{}), done: make(chan struct{})}
}

func (r *redeliverer) start() {
	r.once.Do(func() {
		r.ran.Store(true)
		go r.run()
	})
}

// stop ends the goroutine and waits for it; it is idempotent.
func (r *redeliverer) stop() {
	r.stopped.Do(func() {
		close(r.quit)
		if r.ran.Load() {
			<-r.done
		}
	})
}

// kick wakes the goroutine to re-read the next deadline; it never blocks.
func (r *redeliverer) kick() {
	select {
	case r.kickc <- struct{}{}:
	default:
	}
}

func (r *redeliverer) run() {
	defer close(r.done)
	t := time.NewTimer(time.Hour)
	defer t.Stop()
	for {
		r.arm(t)
		select {
		case <-r.quit:
			return
		case <-r.kickc:
		case <-t.C:
			for _, dev := range r.h.c2d.Tick(r.h.cfg.Now()) {
				r.h.hook.DeliverC2D(dev)
			}
		}
	}
}

// arm sets t to fire at the store's next deadline (or in an hour when
// there is none: a kick comes first if a message arrives).
func (r *redeliverer) arm(t *time.Timer) {
	d := time.Hour
	if dl, ok := r.h.c2d.NextDeadline(); ok {
		d = max(dl.Sub(r.h.cfg.Now()), 0)
	}
	t.Reset(d)
}
