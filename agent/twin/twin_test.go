package twin

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"
)

func doc(t *testing.T, s string) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func TestApplyAcknowledgesDesiredIntervalInPlugAndPlayShape(t *testing.T) {
	tests := []struct {
		name     string
		desired  string
		wantCode int
		wantVal  int64
		wantIn   time.Duration // interval in force afterwards
		wantAD   string        // substring of "ad"
	}{
		{"valid integer", `{"telemetryIntervalSeconds":5,"$version":2}`, ACApplied, 5, 5 * time.Second, ""},
		{"string rejected", `{"telemetryIntervalSeconds":"fast","$version":2}`, ACRejected, 10, 10 * time.Second, `the string "fast"`},
		{"fraction rejected", `{"telemetryIntervalSeconds":1.5,"$version":2}`, ACRejected, 10, 10 * time.Second, "whole number"},
		{"zero rejected", `{"telemetryIntervalSeconds":0,"$version":2}`, ACRejected, 10, 10 * time.Second, "between 1 and 86400"},
		{"null rejected", `{"telemetryIntervalSeconds":null,"$version":2}`, ACRejected, 10, 10 * time.Second, "null"},
		{"object rejected", `{"telemetryIntervalSeconds":{"a":1},"$version":2}`, ACRejected, 10, 10 * time.Second, "object"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			interval := 10 * time.Second
			r := New(IntervalProperty(func() time.Duration { return interval }, func(d time.Duration) { interval = d }))
			patch := r.Apply(doc(t, tc.desired))
			ack, ok := patch[PropTelemetryInterval].(Ack)
			if !ok {
				t.Fatalf("Apply(%s) = %v, want an Ack", tc.desired, patch)
			}
			if ack.Code != tc.wantCode || ack.Value != tc.wantVal || ack.Version != 2 {
				t.Errorf("ack = %+v, want ac %d value %d av 2", ack, tc.wantCode, tc.wantVal)
			}
			if !strings.Contains(ack.Description, tc.wantAD) {
				t.Errorf("ad = %q, want it to contain %q", ack.Description, tc.wantAD)
			}
			if got := interval; got != tc.wantIn {
				t.Errorf("interval in force = %v, want %v", got, tc.wantIn)
			}
		})
	}
}

func TestApplyIgnoresStaleOrUnversionedDocuments(t *testing.T) {
	interval := 10 * time.Second
	r := New(IntervalProperty(func() time.Duration { return interval }, func(d time.Duration) { interval = d }))
	if p := r.Apply(doc(t, `{"telemetryIntervalSeconds":5,"$version":3}`)); p == nil {
		t.Fatal("first Apply returned nil")
	}
	for _, s := range []string{
		`{"telemetryIntervalSeconds":7,"$version":3}`,
		`{"telemetryIntervalSeconds":7,"$version":2}`,
		`{"telemetryIntervalSeconds":7}`,
	} {
		if p := r.Apply(doc(t, s)); p != nil {
			t.Errorf("Apply(%s) = %v, want nil", s, p)
		}
	}
	if interval != 5*time.Second || r.Version() != 3 {
		t.Fatalf("interval %v version %d", interval, r.Version())
	}
}

func TestApplyWithoutKnownPropertiesAdvancesVersionSilently(t *testing.T) {
	r := New(IntervalProperty(func() time.Duration { return time.Second }, func(time.Duration) {}))
	if p := r.Apply(doc(t, `{"unrelated":1,"$version":4}`)); p != nil {
		t.Fatalf("Apply = %v, want nil", p)
	}
	if r.Version() != 4 {
		t.Fatalf("Version = %d, want 4", r.Version())
	}
}

func TestAckMarshalsToPlugAndPlayJSON(t *testing.T) {
	b, _ := json.Marshal(Ack{Value: int64(5), Code: 200, Version: 7})
	var got map[string]any
	json.Unmarshal(b, &got)
	want := map[string]any{"value": 5.0, "ac": 200.0, "av": 7.0}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("json = %s, want %v", b, want)
	}
}

func TestHandlerPanicIsAcknowledgedAs500WithTheValueInForce(t *testing.T) {
	r := New(Property{
		Name:    "boom",
		Apply:   func(any) (any, error) { panic("bug") },
		Current: func() any { return 1 },
	}, Property{
		Name:    "slow",
		Apply:   func(raw any) (any, error) { return raw, ErrInProgress },
		Current: func() any { return nil },
	})
	patch := r.Apply(doc(t, `{"boom":2,"slow":"x","$version":9}`))
	if a := patch["boom"].(Ack); a.Code != ACFailed || a.Value != 1 || a.Description == "" {
		t.Fatalf("boom ack = %+v", a)
	}
	if a := patch["slow"].(Ack); a.Code != ACInProgress || a.Value != "x" || a.Version != 9 {
		t.Fatalf("slow ack = %+v", a)
	}
	if got := r.Names(); len(got) != 2 || got[0] != "boom" {
		t.Fatalf("Names = %v", got)
	}
}
