package features

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/cloudpillar/cloudpillar/chaos"
	"github.com/cloudpillar/cloudpillar/devsim"
	"github.com/cloudpillar/cloudpillar/hubsim"
)

// teardownTimeout bounds closing a scenario's fleet and hub.
const teardownTimeout = 15 * time.Second

// world is the state of one scenario: the hub, the fleet and the network
// between them, and what earlier steps observed.
type world struct {
	log  *slog.Logger
	logs *logBuffer

	hub   *hubsim.Hub
	net   *chaos.Network
	fleet *devsim.Fleet

	logBytes       int       // if positive, startFleet gives each device a CARTO log this big
	timeScale      float64   // if positive, the fleet's agents' clock runs this much faster, with the shortest quiet period
	desiredVersion int       // $version returned by the operator's last desired change
	cutOff         string    // site partitioned by a step; healed at teardown
	healedAt       time.Time // when a step last restored a site's network

	impostorErr    error            // what the impostor's connection attempt returned
	connectsBefore map[string]int64 // each fleet device's connection count before the impostor tried
}

func newWorld(extra *slog.Logger) *world {
	logs := &logBuffer{}
	var h slog.Handler = slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelInfo})
	if extra != nil {
		h = fanout{h, extra.Handler()}
	}
	return &world{log: slog.New(h), logs: logs}
}

// close heals any partition (so agents blocked dialing a cut-off site can
// stop), then stops the fleet and the hub, each within teardownTimeout.
func (w *world) close() error {
	if w.cutOff != "" {
		w.net.Heal(w.cutOff)
		w.cutOff = ""
	}
	ctx, cancel := context.WithTimeout(context.Background(), teardownTimeout)
	defer cancel()
	var errs []error
	if w.fleet != nil {
		errs = append(errs, w.fleet.Close(ctx))
		w.fleet = nil
	}
	if w.hub != nil {
		errs = append(errs, w.hub.Close(ctx))
		w.hub = nil
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("tear down scenario: %w", err)
	}
	return nil
}

// device returns the fleet device with the given id.
func (w *world) device(id string) (*devsim.Device, error) {
	if w.fleet == nil {
		return nil, errors.New("no fleet is running")
	}
	for _, d := range w.fleet.Devices() {
		if d.ID == id {
			return d, nil
		}
	}
	return nil, fmt.Errorf("no device %q in the fleet", id)
}

// only returns the fleet's single device (steps that say "the device").
func (w *world) only() (*devsim.Device, error) {
	if w.fleet == nil {
		return nil, errors.New("no fleet is running")
	}
	if ds := w.fleet.Devices(); len(ds) == 1 {
		return ds[0], nil
	}
	return nil, fmt.Errorf("the fleet has %d devices, the step needs exactly one", len(w.fleet.Devices()))
}

// logBuffer collects a scenario's logs; safe for concurrent writers.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer // guarded by mu
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// fanout sends every record to two handlers.
type fanout [2]slog.Handler

func (f fanout) Enabled(ctx context.Context, l slog.Level) bool {
	return f[0].Enabled(ctx, l) || f[1].Enabled(ctx, l)
}

func (f fanout) Handle(ctx context.Context, r slog.Record) error {
	var errs []error
	for _, h := range f {
		if h.Enabled(ctx, r.Level) {
			errs = append(errs, h.Handle(ctx, r.Clone()))
		}
	}
	return errors.Join(errs...)
}

func (f fanout) WithAttrs(as []slog.Attr) slog.Handler {
	return fanout{f[0].WithAttrs(as), f[1].WithAttrs(as)}
}

func (f fanout) WithGroup(name string) slog.Handler {
	return fanout{f[0].WithGroup(name), f[1].WithGroup(name)}
}
