package scripts

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/cloudpillar/cloudpillar/agent/update"
)

// DefaultTimeout bounds one program run when Config.Timeout is zero.
const DefaultTimeout = 10 * time.Minute

// Config builds a Handler.
type Config struct {
	// Dir is the handler's state: slots/A, slots/B and state.json live
	// here. Required; created if missing. Do not share it with the update
	// Manager's download directory.
	Dir string
	// Timeout bounds each program run; the program (and on Unix its
	// process group) is killed when it passes. Zero: DefaultTimeout.
	Timeout time.Duration
	// Logger receives each run's outcome with the tail of its output,
	// used as given (the caller names the subsystem). Nil discards.
	Logger *slog.Logger
	// Env is extra environment for every program (KEY=VALUE), on top of
	// the agent's own. Keys starting with CLOUDPILLAR_ are reserved.
	Env []string
}

// validate fills defaults and rejects what cannot work.
func (c *Config) validate() error {
	if c.Dir == "" {
		return errors.New("scripts: Config.Dir is required")
	}
	dir, err := filepath.Abs(c.Dir)
	if err != nil {
		return fmt.Errorf("scripts: Config.Dir: %w", err)
	}
	c.Dir = dir
	if c.Timeout < 0 {
		return fmt.Errorf("scripts: Config.Timeout %v is negative", c.Timeout)
	}
	if c.Timeout == 0 {
		c.Timeout = DefaultTimeout
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	for _, kv := range c.Env {
		key, _, ok := strings.Cut(kv, "=")
		switch {
		case !ok || key == "" || strings.ContainsRune(kv, 0):
			return fmt.Errorf("scripts: Config.Env entry %q is not KEY=VALUE", kv)
		case strings.HasPrefix(strings.ToUpper(key), "CLOUDPILLAR_"):
			return fmt.Errorf("scripts: Config.Env key %q: the CLOUDPILLAR_ prefix is reserved", key)
		}
	}
	return nil
}

// Handler is the step handler: two slots in Config.Dir whose steps run
// the installed package's programs. Methods may be called from any
// goroutine; steps run one at a time.
type Handler struct {
	cfg  Config
	log  *slog.Logger
	path string // the state file

	op sync.Mutex // held for a whole step (while its programs run)

	mu sync.Mutex
	st state // guarded by mu; replaced only under op, after it is saved
}

var _ update.Installer = (*Handler)(nil)

// New creates Dir if needed and loads its state: a new directory starts
// with the device's own (factory) software committed in slot A and B
// empty. A state file that does not decode or contradicts itself is
// refused with ErrCorruptState, as is a missing state file next to slots
// that hold files. New starts no program and no goroutine.
func New(cfg Config) (*Handler, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	h := &Handler{cfg: cfg, log: cfg.Logger, path: filepath.Join(cfg.Dir, "state.json")}
	if err := os.MkdirAll(cfg.Dir, 0o700); err != nil {
		return nil, fmt.Errorf("scripts: %w", err)
	}
	// A temporary file is a save cut short: the state file still holds
	// the state before it.
	if err := os.Remove(h.path + ".tmp"); err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("scripts: %w", err)
	}
	st, ok, err := loadState(h.path)
	if err != nil {
		return nil, err
	}
	if !ok {
		if st, err = h.create(); err != nil {
			return nil, err
		}
	}
	h.st = st
	for _, slot := range []string{slotA, slotB} {
		if err := os.MkdirAll(h.slotDir(slot), 0o700); err != nil {
			return nil, fmt.Errorf("scripts: %w", err)
		}
	}
	return h, nil
}

// create saves a fresh state, unless the slots already hold files (the
// state file was lost, not never written).
func (h *Handler) create() (state, error) {
	for _, slot := range []string{slotA, slotB} {
		entries, err := os.ReadDir(h.slotDir(slot))
		if err == nil && len(entries) > 0 {
			return state{}, corrupt(h.path, fmt.Errorf("missing, but slot %s holds files", slot))
		}
	}
	st := freshState()
	if err := saveState(h.path, st); err != nil {
		return state{}, err
	}
	return st, nil
}

// ActiveSlot names the slot the device runs: the slot on trial once its
// activation succeeded (or failed beyond undoing), else the committed
// slot. It never waits for a running step.
func (h *Handler) ActiveSlot() string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.st.reported()
}

func (h *Handler) slotDir(slot string) string { return filepath.Join(h.cfg.Dir, "slots", slot) }

// state returns the current state; callers hold op.
func (h *Handler) state() state {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.st.clone()
}

// save persists next and then makes a copy of it current, so the caller
// may go on changing next; callers hold op.
func (h *Handler) save(next state) error {
	if err := saveState(h.path, next); err != nil {
		return err
	}
	h.mu.Lock()
	h.st = next.clone()
	h.mu.Unlock()
	return nil
}
