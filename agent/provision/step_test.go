package provision

import (
	"errors"
	"testing"
	"time"
)

func TestNext(t *testing.T) {
	const def = 2 * time.Second
	assigned := `{"operationId":"op1","status":"assigned","registrationState":{"registrationId":"r","assignedHub":"h","deviceId":"r","status":"assigned"}}`
	tests := []struct {
		name    string
		resp    Response
		body    string
		opID    string
		wantOp  string
		wait    time.Duration
		done    bool
		wantErr error
	}{
		{"202 with retry-after", Response{202, "x", time.Second}, `{"operationId":"op1","status":"assigning"}`, "", "op1", time.Second, false, nil},
		{"202 without retry-after uses default", Response{202, "x", -1}, `{"operationId":"op1","status":"assigning"}`, "", "op1", def, false, nil},
		{"202 retry-after 0 polls at once", Response{202, "x", 0}, `{"operationId":"op1","status":"assigning"}`, "", "op1", 0, false, nil},
		{"poll 202 keeps the operation", Response{202, "x", -1}, `{"status":"assigning"}`, "op1", "op1", def, false, nil},
		{"200 assigned", Response{200, "x", -1}, assigned, "op1", "", 0, true, nil},
		{"register answered 200 at once", Response{200, "x", -1}, assigned, "", "", 0, true, nil},
		{"200 disabled", Response{200, "x", -1}, `{"operationId":"op1","status":"disabled","registrationState":{"status":"disabled"}}`, "op1", "", 0, false, ErrDisabled},
		{"200 failed", Response{200, "x", -1}, `{"operationId":"op1","status":"failed","registrationState":{"status":"failed","errorCode":400209,"errorMessage":"x"}}`, "op1", "", 0, false, ErrFailed},
		{"429 on register re-registers", Response{429, "x", 3 * time.Second}, `{"errorCode":429001,"message":"throttled"}`, "", "", 3 * time.Second, false, nil},
		{"429 on poll keeps polling", Response{429, "x", -1}, `{"errorCode":429001}`, "op1", "op1", def, false, nil},
		{"500 waits", Response{500, "x", -1}, ``, "op1", "op1", def, false, nil},
		{"401 fails", Response{401, "x", -1}, `{"errorCode":401002,"message":"unauthorized"}`, "", "", 0, false, ErrUnauthorized},
		{"400 fails", Response{400, "x", -1}, `{"errorCode":400004,"message":"bad csr"}`, "", "", 0, false, ErrBadRequest},
		{"404 fails", Response{404, "x", -1}, `not json`, "op1", "", 0, false, ErrNotFound},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			st, err := next(tc.resp, []byte(tc.body), tc.opID, def)
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("next = %+v, %v; want %v", st, err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if (st.done != nil) != tc.done || (!tc.done && (st.operationID != tc.wantOp || st.wait != tc.wait)) {
				t.Fatalf("next = done %v op %q wait %v; want done %v op %q wait %v", st.done != nil, st.operationID, st.wait, tc.done, tc.wantOp, tc.wait)
			}
		})
	}
}

func TestNextRefusesIncompleteAssignment(t *testing.T) {
	_, err := next(Response{200, "x", -1}, []byte(`{"operationId":"o","status":"assigned","registrationState":{"status":"assigned"}}`), "o", time.Second)
	if err == nil {
		t.Fatal("assigned without a hub accepted")
	}
}

func TestRIDIsUUIDShaped(t *testing.T) {
	a, b := newRID(), newRID()
	if a == b || len(a) != 36 || a[14] != '4' {
		t.Fatalf("newRID = %q, %q", a, b)
	}
}

func TestConfigValidation(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
	}{
		{"no scope", Config{RegistrationID: "r", SymmetricKey: "a2V5"}},
		{"bad registration id", Config{IDScope: "s", RegistrationID: "a/b", SymmetricKey: "a2V5"}},
		{"no credential", Config{IDScope: "s", RegistrationID: "r"}},
		{"bad address", Config{IDScope: "s", RegistrationID: "r", SymmetricKey: "a2V5", Address: "nohostport"}},
	}
	for _, tc := range tests {
		if err := tc.cfg.validate(); err == nil {
			t.Errorf("%s: validate accepted %+v", tc.name, tc.cfg)
		}
	}
	c := Config{IDScope: "s", RegistrationID: "r", SymmetricKey: "a2V5"}
	if err := c.validate(); err != nil {
		t.Fatal(err)
	}
	if c.Address != GlobalHost+":8883" || c.ServerName != GlobalHost || c.APIVersion != DefaultAPIVersion {
		t.Errorf("defaults: %q %q %q", c.Address, c.ServerName, c.APIVersion)
	}
}
