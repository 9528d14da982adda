package service

import (
	"encoding/base64"
	"net/http"
	"testing"
	"time"

	"github.com/cloudpillar/cloudpillar/hubsim/sas"
)

// TestServiceAuth: every service call needs a valid, unexpired policy token
// for this hub whose policy grants the operation (PROTOCOL.md §1.3, §4).
func TestServiceAuth(t *testing.T) {
	th := newTestHub(t, Config{})
	th.owner("PUT", "/devices/d1", map[string]any{"deviceId": "d1"})
	expired, _ := sas.Sign(testHost, th.policies[0].PrimaryKey, sas.PolicyOwner, time.Now().Add(-time.Minute))
	otherHub, _ := sas.Sign("other.example.net", th.policies[0].PrimaryKey, sas.PolicyOwner, time.Now().Add(time.Hour))
	badKey, _ := sas.Sign(testHost, sas.NewKey(), sas.PolicyOwner, time.Now().Add(time.Hour))
	noPolicy, _ := sas.Sign(testHost, th.policies[0].PrimaryKey, "", time.Now().Add(time.Hour))
	tests := []struct {
		name, method, path, auth string
		status                   int
	}{
		{"no header", "GET", "/devices/d1", "", 401},
		{"garbage", "GET", "/devices/d1", "Bearer x", 401},
		{"expired", "GET", "/devices/d1", expired, 401},
		{"other hub", "GET", "/devices/d1", otherHub, 401},
		{"wrong key", "GET", "/devices/d1", badKey, 401},
		{"device-style token", "GET", "/devices/d1", noPolicy, 401},
		{"registryRead reads", "GET", "/devices/d1", th.token(sas.PolicyRegistryRead), 200},
		{"registryRead cannot write", "DELETE", "/devices/d1", th.token(sas.PolicyRegistryRead), 401},
		{"service cannot read registry", "GET", "/devices/d1", th.token(sas.PolicyService), 401},
		{"service reads twins", "GET", "/twins/d1", th.token(sas.PolicyService), 200},
		{"device policy cannot read twins", "GET", "/twins/d1", th.token(sas.PolicyDevice), 401},
		{"service cannot use /_sim", "GET", "/_sim/files", th.token(sas.PolicyService), 401},
		{"owner uses /_sim", "GET", "/_sim/files", th.token(sas.PolicyOwner), 200},
	}
	for _, tc := range tests {
		r := th.do(th.client, tc.method, tc.path, tc.auth, nil)
		if r.status != tc.status {
			t.Errorf("%s: %s %s = %d %s, want %d", tc.name, tc.method, tc.path, r.status, r.body, tc.status)
		}
		if tc.status == 401 {
			expectError(t, tc.name, r, 401, "IotHubUnauthorizedAccess")
		}
	}
}

// TestAPIVersions: 2021-04-12, 2020-09-30 and 2020-03-13 are served; any
// other (or none) is 400.
func TestAPIVersions(t *testing.T) {
	th := newTestHub(t, Config{})
	for _, v := range []string{"2021-04-12", "2020-09-30", "2020-03-13"} {
		if r := th.owner("GET", "/devices?api-version="+v, nil); r.status != 200 {
			t.Errorf("api-version %s = %d %s", v, r.status, r.body)
		}
	}
	for _, q := range []string{"?api-version=2019-10-01", "?api-version=", "?x=1"} {
		expectError(t, "GET /devices"+q, th.owner("GET", "/devices"+q, nil), 400, "InvalidProtocolVersion")
	}
}

// TestRegistryCRUD: PUT creates (keys generated), a second create is
// 409001, updates need If-Match, DELETE removes device and twin
// (PROTOCOL.md §4 "Registry").
func TestRegistryCRUD(t *testing.T) {
	th := newTestHub(t, Config{})
	r := th.owner("PUT", "/devices/sas-1", map[string]any{"deviceId": "sas-1"})
	var d deviceJSON
	r.decode(t, &d)
	if r.status != 200 || d.Authentication.Type != "sas" || d.Status != "enabled" || d.ETag == "" || d.GenerationID == "" ||
		d.ConnectionState != "Disconnected" {
		t.Fatalf("create = %d %s", r.status, r.body)
	}
	for _, k := range []*string{d.Authentication.SymmetricKey.PrimaryKey, d.Authentication.SymmetricKey.SecondaryKey} {
		if raw, err := base64.StdEncoding.DecodeString(deref(k)); err != nil || len(raw) < 16 {
			t.Fatalf("generated key %v is not base64 of 16+ bytes", k)
		}
	}
	if _, err := th.twins.Get("sas-1"); err != nil {
		t.Fatalf("create made no twin: %v", err)
	}
	expectError(t, "second create", th.owner("PUT", "/devices/sas-1", map[string]any{"deviceId": "sas-1"}), 409, "DeviceAlreadyExists")

	upd := map[string]any{"deviceId": "sas-1", "status": "disabled", "statusReason": "maintenance",
		"authentication": map[string]any{"type": "sas", "symmetricKey": d.Authentication.SymmetricKey}}
	expectError(t, "stale etag", th.owner("PUT", "/devices/sas-1", upd, "If-Match", `"AAAAAAAAAAA="`), 412, "PreconditionFailed")
	r = th.owner("PUT", "/devices/sas-1", upd, "If-Match", `"`+d.ETag+`"`)
	var u deviceJSON
	r.decode(t, &u)
	if r.status != 200 || u.Status != "disabled" || deref(u.StatusReason) != "maintenance" || u.ETag == d.ETag ||
		deref(u.Authentication.SymmetricKey.PrimaryKey) != deref(d.Authentication.SymmetricKey.PrimaryKey) {
		t.Fatalf("update = %d %s", r.status, r.body)
	}
	r = th.owner("PUT", "/devices/sas-1", map[string]any{"status": "enabled"}, "If-Match", "*")
	var partial deviceJSON
	r.decode(t, &partial)
	if r.status != 200 || partial.Authentication.Type != "sas" ||
		deref(partial.Authentication.SymmetricKey.PrimaryKey) != deref(d.Authentication.SymmetricKey.PrimaryKey) {
		t.Fatalf("an update without authentication must keep it: %d %s", r.status, r.body)
	}
	th.owner("PUT", "/devices/sas-1", upd, "If-Match", "*")
	u.ETag = th.owner("GET", "/devices/sas-1", nil).etag(t)
	expectError(t, "update unknown", th.owner("PUT", "/devices/nope", map[string]any{}, "If-Match", "*"), 404, "DeviceNotFound")

	r = th.owner("GET", "/devices/sas-1", nil)
	var g deviceJSON
	r.decode(t, &g)
	if r.status != 200 || g.ETag != u.ETag {
		t.Fatalf("get = %d %s", r.status, r.body)
	}
	expectError(t, "delete stale", th.owner("DELETE", "/devices/sas-1", nil, "If-Match", `"`+d.ETag+`"`), 412, "PreconditionFailed")
	if r := th.owner("DELETE", "/devices/sas-1", nil, "If-Match", "*"); r.status != http.StatusNoContent {
		t.Fatalf("delete = %d %s", r.status, r.body)
	}
	expectError(t, "get deleted", th.owner("GET", "/devices/sas-1", nil), 404, "DeviceNotFound")
	expectError(t, "delete again", th.owner("DELETE", "/devices/sas-1", nil), 404, "DeviceNotFound")
	if _, err := th.twins.Get("sas-1"); err == nil {
		t.Fatal("delete left the twin")
	}
}

// TestRegistryKindsAndValidation: X.509 kinds, capabilities, and what a
// PUT body may not say.
func TestRegistryKindsAndValidation(t *testing.T) {
	th := newTestHub(t, Config{})
	tp := "0123456789abcdef0123456789abcdef01234567"
	r := th.owner("PUT", "/devices/x1", map[string]any{"authentication": map[string]any{
		"type": "selfSigned", "x509Thumbprint": map[string]any{"primaryThumbprint": tp}}, "capabilities": map[string]any{"iotEdge": true}})
	var d deviceJSON
	r.decode(t, &d)
	if r.status != 200 || deref(d.Authentication.X509Thumbprint.PrimaryThumbprint) != tp || d.Authentication.SymmetricKey.PrimaryKey != nil ||
		!d.Capabilities.IotEdge || d.DeviceID != "x1" {
		t.Fatalf("selfSigned create = %d %s", r.status, r.body)
	}
	r = th.owner("PUT", "/devices/ca1", map[string]any{"authentication": map[string]any{"type": "certificateAuthority"}})
	if r.status != 200 {
		t.Fatalf("CA create = %d %s", r.status, r.body)
	}
	bad := []struct {
		name, path string
		body       any
		errName    string
	}{
		{"bad JSON", "/devices/b1", `{"deviceId":`, "IotHubFormatError"},
		{"id mismatch", "/devices/b1", map[string]any{"deviceId": "other"}, "ArgumentInvalid"},
		{"bad id", "/devices/b%23x", map[string]any{}, "ArgumentInvalid"},
		{"selfSigned without thumbprint", "/devices/b1", map[string]any{"authentication": map[string]any{"type": "selfSigned"}}, "ArgumentInvalid"},
		{"unknown auth", "/devices/b1", map[string]any{"authentication": map[string]any{"type": "kerberos"}}, "ArgumentInvalid"},
		{"short key", "/devices/b1", map[string]any{"authentication": map[string]any{"type": "sas",
			"symmetricKey": map[string]any{"primaryKey": "c2hvcnQ=", "secondaryKey": "c2hvcnQ="}}}, "ArgumentInvalid"},
		{"bad status", "/devices/b1", map[string]any{"status": "sleeping"}, "ArgumentInvalid"},
	}
	for _, tc := range bad {
		expectError(t, tc.name, th.owner("PUT", tc.path, tc.body), 400, tc.errName)
	}
	expectError(t, "module path", th.owner("GET", "/devices/x1%2Fm1", nil), 400, "ArgumentInvalid")
	var list []deviceJSON
	th.owner("GET", "/devices", nil).decode(t, &list)
	if len(list) != 2 || list[0].DeviceID != "ca1" || list[1].DeviceID != "x1" {
		t.Fatalf("list = %+v", list)
	}
}

// TestUnknownRoutes: unknown paths and methods answer in IoT Hub's error
// format, not the mux's plain text.
func TestUnknownRoutes(t *testing.T) {
	th := newTestHub(t, Config{})
	expectError(t, "unknown path", th.owner("GET", "/nothing/here", nil), 404, "NotFound")
	r := th.owner("POST", "/devices/d1", nil)
	expectError(t, "wrong method", r, 405, "MethodNotAllowed")
	if r.header.Get("Allow") == "" {
		t.Error("405 without Allow")
	}
}
