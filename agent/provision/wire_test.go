package provision

import (
	"encoding/base64"
	"errors"
	"net/url"
	"strings"
	"testing"
	"time"
)

// Values from wire/node-sdk.jsonl (flows dps-x509, dps-symkey-group) and
// wire/README.md: real bytes sent by Microsoft's Node provisioning SDK.
const (
	wireScope    = "0ne00WC0FFE"
	wireGroupKey = "ccAKzOG3JAuAU/A+4T/n9zAuvv6+xTv0C1S9mT6TqQVcGx3qB1iKLHkMDYK1hLrt+NzeG+U/T46hfAs+H788EA=="
	wireRegSym   = "reg-sym-01"
	wireDerived  = "b4MDklyehQ4lFZKfXGWm3njVhFZeGTY+lx7dCcCSYzQ="
	wireSig      = "n4nC2enWJzTr8WIUAONyQPDrDuDzezkjqGBXOcfu0wU%3D"
	wireSE       = "1795876659"
)

func TestDeriveKeyMatchesNodeSDK(t *testing.T) {
	got, err := DeriveKey(wireGroupKey, wireRegSym)
	if err != nil || got != wireDerived {
		t.Fatalf("DeriveKey(group, %s) = %q, %v; want %q", wireRegSym, got, err, wireDerived)
	}
	if _, err := DeriveKey("not base64!", "r"); err == nil {
		t.Error("DeriveKey accepted a non-base64 group key")
	}
}

// TestSignatureMatchesNodeSDKToken re-verifies the Node SDK's DPS token
// (signed over the plain sr) with our HMAC.
func TestSignatureMatchesNodeSDKToken(t *testing.T) {
	key, _ := base64.StdEncoding.DecodeString(wireDerived)
	want, _ := url.QueryUnescape(wireSig)
	if got := signature(key, Resource(wireScope, wireRegSym), wireSE); got != want {
		t.Fatalf("signature = %q, want %q", got, want)
	}
}

func TestSASTokenShape(t *testing.T) {
	tok, err := SASToken(wireScope, "reg-1", wireDerived, time.Unix(1795876659, 0))
	if err != nil {
		t.Fatal(err)
	}
	for _, part := range []string{"SharedAccessSignature ", "sr=0ne00WC0FFE%2Fregistrations%2Freg-1&", "se=1795876659", "skn=registration"} {
		if !strings.Contains(tok, part) {
			t.Errorf("token %q lacks %q", tok, part)
		}
	}
}

func TestUsernameRoundTrip(t *testing.T) {
	u := Username("0ne00ABC", "reg-1", DefaultAPIVersion, "")
	if u != "0ne00ABC/registrations/reg-1/api-version=2025-07-01-preview" {
		t.Fatalf("Username = %q", u)
	}
	tests := []struct {
		in   string
		want ParsedUsername
		ok   bool
	}{
		{u, ParsedUsername{"0ne00ABC", "reg-1", DefaultAPIVersion, ""}, true},
		{"0ne00WC0FFE/registrations/reg-x509-01/api-version=2019-03-31&ClientVersion=azure-iot-provisioning-device%2F1.9.1",
			ParsedUsername{"0ne00WC0FFE", "reg-x509-01", "2019-03-31", "azure-iot-provisioning-device/1.9.1"}, true},
		{"scope/registrations/r/?api-version=2021-06-01", ParsedUsername{"scope", "r", "2021-06-01", ""}, true},
		{"scope/registrations/r/", ParsedUsername{"scope", "r", "", ""}, false},
		{"hub.example/dev1/?api-version=2021-04-12", ParsedUsername{}, false},
		{"/registrations/r/api-version=1", ParsedUsername{}, false},
	}
	for _, tc := range tests {
		got, err := ParseUsername(tc.in)
		if (err == nil) != tc.ok || (tc.ok && got != tc.want) {
			t.Errorf("ParseUsername(%q) = %+v, %v; want %+v ok=%v", tc.in, got, err, tc.want, tc.ok)
		}
	}
}

func TestTopics(t *testing.T) {
	// Node SDK topics, verbatim from the wire capture.
	reg, err := ParseRequestTopic("$dps/registrations/PUT/iotdps-register/?$rid=3ebd1c22-ae6d-4a5c-9506-b378d681ee49")
	if err != nil || reg.Kind != KindRegister || reg.RID != "3ebd1c22-ae6d-4a5c-9506-b378d681ee49" {
		t.Errorf("register topic: %+v, %v", reg, err)
	}
	poll, err := ParseRequestTopic("$dps/registrations/GET/iotdps-get-operationstatus/?$rid=b3671bb0&operationId=4.f75c7787928c1b9f.9a7d0202")
	if err != nil || poll.Kind != KindPoll || poll.OperationID != "4.f75c7787928c1b9f.9a7d0202" {
		t.Errorf("poll topic: %+v, %v", poll, err)
	}
	for _, bad := range []string{"$dps/registrations/PUT/iotdps-register/", "$dps/registrations/GET/iotdps-get-operationstatus/?$rid=1", "devices/x/messages/events/"} {
		if _, err := ParseRequestTopic(bad); err == nil {
			t.Errorf("ParseRequestTopic(%q) accepted", bad)
		}
	}
	if got, _ := ParseRequestTopic(PollTopic("r 1", "op&1")); got.RID != "r 1" || got.OperationID != "op&1" {
		t.Errorf("PollTopic round trip = %+v", got)
	}
	resp := []struct {
		topic string
		want  Response
	}{
		{"$dps/registrations/res/202/?$rid=3ebd&retry-after=1", Response{202, "3ebd", time.Second}},
		{"$dps/registrations/res/200/?$rid=68c7", Response{200, "68c7", -1}},
		{ResponseTopic(429, "x", 1500*time.Millisecond), Response{429, "x", 2 * time.Second}},
		{ResponseTopic(202, "x", 0), Response{202, "x", 0}},
	}
	for _, tc := range resp {
		if got, err := ParseResponseTopic(tc.topic); err != nil || got != tc.want {
			t.Errorf("ParseResponseTopic(%q) = %+v, %v; want %+v", tc.topic, got, err, tc.want)
		}
	}
	if _, err := ParseResponseTopic("$dps/registrations/res/abc/?$rid=1"); err == nil {
		t.Error("non-numeric status accepted")
	}
}

func TestValidateRegistrationID(t *testing.T) {
	for _, ok := range []string{"reg-01", "a", "A.b_c:d-", strings.Repeat("x", 128)} {
		if err := ValidateRegistrationID(ok); err != nil {
			t.Errorf("ValidateRegistrationID(%q) = %v", ok, err)
		}
	}
	for _, bad := range []string{"", "a/b", "a b", "end.", "end_", strings.Repeat("x", 129), "caf\u00e9"} {
		if err := ValidateRegistrationID(bad); err == nil {
			t.Errorf("ValidateRegistrationID(%q) accepted", bad)
		}
	}
}

func TestErrorsMatchSentinels(t *testing.T) {
	tests := []struct {
		err       error
		want      error
		temporary bool
	}{
		{&Error{Status: 401, Code: 401002}, ErrUnauthorized, false},
		{&Error{Status: 404, Code: 404201}, ErrNotFound, false},
		{&Error{Status: 429, Code: 429001}, ErrThrottled, true},
		{&Error{Status: 400, Code: 400004}, ErrBadRequest, false},
		{&AssignmentError{Status: StatusDisabled}, ErrDisabled, false},
		{&AssignmentError{Status: StatusFailed, Code: 400209}, ErrFailed, false},
	}
	for _, tc := range tests {
		if !errors.Is(tc.err, tc.want) {
			t.Errorf("errors.Is(%v, %v) = false", tc.err, tc.want)
		}
		if Temporary(tc.err) != tc.temporary {
			t.Errorf("Temporary(%v) = %v", tc.err, !tc.temporary)
		}
	}
	if e := (&Error{Status: 401, Code: 401002, Message: "x"}).Error(); !strings.Contains(e, "401002") {
		t.Errorf("error text %q does not name the errorCode", e)
	}
}
