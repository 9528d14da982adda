package scripts

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// Output kept per stream and run: the tail, for the log and the error.
const tailBytes = 4 << 10

// waitDelay bounds how long a finished or killed program's output pipes
// may stay open (held by a process it started) before Wait gives up.
const waitDelay = 5 * time.Second

// errTimeout is the cause of a run stopped by Config.Timeout.
var errTimeout = errors.New("timed out")

// run is one program run for a step of the package in slot.
type run struct {
	step   string
	slot   string
	sl     slotState
	active string // the slot ActiveSlot reports when the step starts
	prev   string // the slot to return to on rollback
}

// env is the CLOUDPILLAR_* environment of r (README.md lists it).
func (h *Handler) env(r run) []string {
	id := r.sl.UpdateID
	return []string{
		"CLOUDPILLAR_STEP=" + r.step,
		"CLOUDPILLAR_SLOT=" + r.slot,
		"CLOUDPILLAR_SLOT_DIR=" + h.slotDir(r.slot),
		"CLOUDPILLAR_ACTIVE_SLOT=" + r.active,
		"CLOUDPILLAR_ACTIVE_SLOT_DIR=" + h.slotDir(r.active),
		"CLOUDPILLAR_PREVIOUS_SLOT=" + r.prev,
		"CLOUDPILLAR_PREVIOUS_SLOT_DIR=" + h.slotDir(r.prev),
		"CLOUDPILLAR_UPDATE_PROVIDER=" + id.Provider,
		"CLOUDPILLAR_UPDATE_NAME=" + id.Name,
		"CLOUDPILLAR_UPDATE_VERSION=" + id.Version,
	}
}

// exec runs r's program for r.step, if the package has one, and waits for
// it; ctx ending or Config.Timeout kills it (and, on Unix, its process
// group). A non-zero exit is an error naming the step, the slot, the exit
// code and the tail of stderr.
func (h *Handler) exec(ctx context.Context, r run) error {
	argv := r.sl.Package.argv(r.step)
	if argv == nil {
		return nil
	}
	dir := h.slotDir(r.slot)
	path, err := h.program(dir, argv[0])
	if err != nil {
		return fmt.Errorf("scripts: %s (slot %s): %w", r.step, r.slot, err)
	}
	ctx, cancel := context.WithTimeoutCause(ctx, h.cfg.Timeout, errTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, path, argv[1:]...)
	cmd.Args[0] = argv[0]
	cmd.Dir = dir
	cmd.Env = append(append(cmd.Environ(), h.cfg.Env...), h.env(r)...)
	stdout, stderr := &tail{}, &tail{}
	cmd.Stdout, cmd.Stderr = stdout, stderr
	cmd.WaitDelay = waitDelay
	killGroup(cmd)
	log := h.log.With("step", r.step, "slot", r.slot, "version", r.sl.UpdateID.Version)
	log.Info("update script starting", "argv", argv)
	start := time.Now()
	err = cmd.Run()
	log = log.With("took", time.Since(start).Round(time.Millisecond).String(),
		"stdout", stdout.String(), "stderr", stderr.String())
	if err = h.outcome(ctx, r, err, stderr.String()); err != nil {
		log.Warn("update script failed", "err", err)
		return err
	}
	log.Info("update script succeeded")
	return nil
}

// program resolves argv[0]: a package file, or a program on PATH.
func (h *Handler) program(dir, name string) (string, error) {
	if file, ok := slotFile(name); ok {
		return filepath.Join(dir, file), nil
	}
	path, err := exec.LookPath(name)
	if err != nil {
		return "", fmt.Errorf("program %q not found on PATH: %w", name, err)
	}
	return path, nil
}

// outcome turns Run's result into the step's error.
func (h *Handler) outcome(ctx context.Context, r run, err error, stderr string) error {
	what := fmt.Sprintf("scripts: %s (slot %s)", r.step, r.slot)
	detail := ""
	if stderr != "" {
		detail = ": stderr: " + stderr
	}
	var ee *exec.ExitError
	switch {
	case err == nil:
		return nil
	case ctx.Err() != nil && errors.Is(context.Cause(ctx), errTimeout):
		return fmt.Errorf("%s: timed out after %v; killed%s", what, h.cfg.Timeout, detail)
	case ctx.Err() != nil:
		return fmt.Errorf("%s: stopped, killed: %w%s", what, context.Cause(ctx), detail)
	case errors.Is(err, exec.ErrWaitDelay):
		h.log.Warn("update script exited 0 but a process it started kept its output open", "step", r.step, "slot", r.slot)
		return nil
	case errors.As(err, &ee) && ee.ExitCode() >= 0:
		return fmt.Errorf("%s: exit code %d%s", what, ee.ExitCode(), detail)
	}
	return fmt.Errorf("%s: %w%s", what, err, detail)
}

// tail is an io.Writer that keeps the last tailBytes written.
type tail struct {
	mu    sync.Mutex
	buf   []byte // guarded by mu
	total int64  // guarded by mu: bytes written in all
}

func (t *tail) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.total += int64(len(p))
	if len(p) >= tailBytes {
		t.buf = append(t.buf[:0], p[len(p)-tailBytes:]...)
		return len(p), nil
	}
	if over := len(t.buf) + len(p) - tailBytes; over > 0 {
		t.buf = append(t.buf[:0], t.buf[over:]...)
	}
	t.buf = append(t.buf, p...)
	return len(p), nil
}

// String is the kept tail as valid UTF-8 without surrounding space,
// marked with "..." when earlier output was dropped.
func (t *tail) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	s := strings.TrimSpace(strings.ToValidUTF8(string(t.buf), ""))
	if t.total > int64(len(t.buf)) && s != "" {
		s = "..." + s
	}
	return s
}
