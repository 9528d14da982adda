package methods

import (
	"errors"
	"sync"
	"testing"
	"time"
)

func TestResponseCompletesOnlyTheCallOnItsOwnConnection(t *testing.T) {
	tab := NewTable()
	connA, connB := new(int), new(int)
	call := tab.Begin(connA)
	other := tab.Begin(connB)
	if call.RID() == other.RID() {
		t.Fatalf("two calls share $rid %q", call.RID())
	}
	if tab.Complete(connB, call.RID(), Result{Status: 200}) {
		t.Fatal("another connection completed the call")
	}
	if !tab.Complete(connA, call.RID(), Result{Status: 201, Payload: []byte(`{}`)}) {
		t.Fatal("the call's own connection could not complete it")
	}
	if r := <-call.Done(); r.Status != 201 {
		t.Fatalf("result = %+v", r)
	}
	if tab.Complete(connA, call.RID(), Result{}) {
		t.Fatal("a second response completed the call again")
	}
	tab.End(other)
	if n := tab.Pending(); n != 0 {
		t.Fatalf("Pending = %d, want 0", n)
	}
}

func TestConcurrentCallsGetDistinctRIDs(t *testing.T) {
	tab := NewTable()
	var mu sync.Mutex
	seen := map[string]bool{}
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := 0; j < 100; j++ {
				c := tab.Begin(tab)
				mu.Lock()
				seen[c.RID()] = true
				mu.Unlock()
				tab.End(c)
			}
		}()
	}
	wg.Wait()
	if len(seen) != 800 {
		t.Fatalf("%d distinct $rid for 800 calls", len(seen))
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name        string
		method      string
		payload     []byte
		timeout     time.Duration
		wantTimeout time.Duration
		wantPayload string
		wantErr     error
	}{
		{"defaults, empty payload is null", "reboot", nil, 0, DefaultTimeout, "null", nil},
		{"payload kept", "m", []byte(`{"a":1}`), time.Second, time.Second, `{"a":1}`, nil},
		{"component command", "thermostat1*getMaxMinReport", nil, time.Second, time.Second, "null", nil},
		{"slash in name", "a/b", nil, 0, 0, "", ErrInvalid},
		{"empty name", "", nil, 0, 0, "", ErrInvalid},
		{"timeout too long", "m", nil, time.Hour, 0, "", ErrInvalid},
		{"payload too big", "m", make([]byte, MaxPayload+1), 0, 0, "", ErrInvalid},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			to, p, err := Validate(tc.method, tc.payload, tc.timeout)
			if !errors.Is(err, tc.wantErr) || (err == nil && tc.wantErr != nil) {
				t.Fatalf("err = %v, want %v", err, tc.wantErr)
			}
			if err == nil && (to != tc.wantTimeout || string(p) != tc.wantPayload) {
				t.Fatalf("Validate = %v %q, want %v %q", to, p, tc.wantTimeout, tc.wantPayload)
			}
		})
	}
}

func TestErrorsMatchByCodeAndCarryStatus(t *testing.T) {
	err := Timeout("d1", "reboot", 5*time.Second)
	var e *Error
	if !errors.Is(err, ErrGatewayTimeout) || errors.Is(err, ErrDeviceNotOnline) || !errors.As(err, &e) || e.Status != 504 {
		t.Fatalf("Timeout error = %v", err)
	}
	if !errors.Is(NotOnline("d"), ErrDeviceNotOnline) || !errors.Is(NotFound("d"), ErrDeviceNotFound) {
		t.Fatal("NotOnline/NotFound do not match their sentinels")
	}
}
