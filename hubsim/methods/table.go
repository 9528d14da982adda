package methods

import (
	"strconv"
	"strings"
	"sync"
	"time"
)

// Limits (PROTOCOL.md §2.5, §4).
const (
	MaxPayload     = 128 * 1024
	DefaultTimeout = 30 * time.Second
	MaxTimeout     = 300 * time.Second
)

// Result is a device's answer: the status it chose and its payload (JSON,
// `null` for none).
type Result struct {
	Status  int
	Payload []byte
}

// Call is one pending invocation.
type Call struct {
	rid   string
	owner any         // the connection the request went to
	done  chan Result // buffered 1; written once
}

// RID is the request id the device must echo.
func (c *Call) RID() string { return c.rid }

// Done delivers the device's result.
func (c *Call) Done() <-chan Result { return c.done }

// Table holds the calls waiting for a response.
type Table struct {
	mu    sync.Mutex
	seq   uint64           // last $rid number; guarded by mu
	calls map[string]*Call // by $rid; guarded by mu
}

// NewTable returns an empty table.
func NewTable() *Table { return &Table{calls: make(map[string]*Call)} }

// Begin registers a call whose request goes to owner (any comparable value
// that identifies one connection) and gives it a fresh $rid.
func (t *Table) Begin(owner any) *Call {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.seq++
	c := &Call{rid: strconv.FormatUint(t.seq, 10), owner: owner, done: make(chan Result, 1)}
	t.calls[c.rid] = c
	return c
}

// Complete hands a response to the call with rid if it was sent to owner;
// it reports whether one was waiting. A response to an unknown, finished or
// foreign call is dropped.
func (t *Table) Complete(owner any, rid string, r Result) bool {
	t.mu.Lock()
	c, ok := t.calls[rid]
	if ok && c.owner == owner {
		delete(t.calls, rid)
	}
	t.mu.Unlock()
	if !ok || c.owner != owner {
		return false
	}
	c.done <- r
	return true
}

// End forgets a call (after its result, a timeout or a failed send).
func (t *Table) End(c *Call) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.calls[c.rid] == c {
		delete(t.calls, c.rid)
	}
}

// Pending returns how many calls wait for a response.
func (t *Table) Pending() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.calls)
}

// Validate checks an invocation and returns the timeout to use (0 means
// DefaultTimeout) and the payload to send (`null` for none: an empty body
// makes the Node SDK answer 400 without calling the handler, wire/README.md
// obs. 26).
func Validate(name string, payload []byte, timeout time.Duration) (time.Duration, []byte, error) {
	if name == "" || strings.ContainsAny(name, "/?#+") {
		return 0, nil, errorf(ErrInvalid, "method name %q", name)
	}
	if len(payload) > MaxPayload {
		return 0, nil, errorf(ErrInvalid, "payload of %d bytes is over %d", len(payload), MaxPayload)
	}
	switch {
	case timeout == 0:
		timeout = DefaultTimeout
	case timeout < 0 || timeout > MaxTimeout:
		return 0, nil, errorf(ErrInvalid, "response timeout %v not in (0, %v]", timeout, MaxTimeout)
	}
	if len(payload) == 0 {
		payload = []byte("null")
	}
	return timeout, payload, nil
}
