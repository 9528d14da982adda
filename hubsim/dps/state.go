package dps

import (
	"crypto/rand"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/cloudpillar/cloudpillar/agent/provision"
)

// operation is one registration attempt a device can poll.
type operation struct {
	id      string
	regID   string
	readyAt time.Time // polls before it see "assigning"
	expires time.Time
	result  provision.OperationStatus
}

// state holds operations and registration records.
type state struct {
	mu   sync.Mutex
	ops  map[string]*operation                  // by operation id; guarded by mu
	regs map[string]provision.RegistrationState // by lower-case registration id; guarded by mu
}

func newState() *state {
	return &state{ops: make(map[string]*operation), regs: make(map[string]provision.RegistrationState)}
}

func (st *state) addOperation(regID string, result provision.OperationStatus, readyAt, now time.Time) *operation {
	op := &operation{id: newOperationID(), regID: regID, readyAt: readyAt, expires: readyAt.Add(operationTTL), result: result}
	op.result.OperationID = op.id
	st.mu.Lock()
	defer st.mu.Unlock()
	for id, o := range st.ops {
		if now.After(o.expires) {
			delete(st.ops, id)
		}
	}
	st.ops[op.id] = op
	return op
}

func (st *state) operation(id string, now time.Time) (*operation, bool) {
	st.mu.Lock()
	defer st.mu.Unlock()
	op, ok := st.ops[id]
	if !ok || now.After(op.expires) {
		return nil, false
	}
	return op, true
}

func (st *state) registration(regID string) (provision.RegistrationState, bool) {
	st.mu.Lock()
	defer st.mu.Unlock()
	rs, ok := st.regs[strings.ToLower(regID)]
	return rs, ok
}

func (st *state) saveRegistration(rs provision.RegistrationState) {
	st.mu.Lock()
	defer st.mu.Unlock()
	st.regs[strings.ToLower(rs.RegistrationID)] = rs
}

func (st *state) deleteRegistration(regID string) bool {
	st.mu.Lock()
	defer st.mu.Unlock()
	k := strings.ToLower(regID)
	_, ok := st.regs[k]
	delete(st.regs, k)
	return ok
}

func (st *state) count() int {
	st.mu.Lock()
	defer st.mu.Unlock()
	return len(st.regs)
}

// Registration returns the last assignment of a registration id.
func (s *Server) Registration(registrationID string) (provision.RegistrationState, bool) {
	return s.state.registration(registrationID)
}

// DeleteRegistration forgets a registration (its next registration is an
// initial assignment again), as DPS's "delete registration state".
func (s *Server) DeleteRegistration(registrationID string) bool {
	return s.state.deleteRegistration(registrationID)
}

// Provisioned counts registrations that were assigned.
func (s *Server) Provisioned() int { return s.state.count() }

// newID returns a random UUID-shaped id.
func newID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // never fails on supported platforms
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}

// newOperationID mimics DPS's `4.{16 hex}.{uuid}`.
func newOperationID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return fmt.Sprintf("4.%x.%s", b, newID())
}
