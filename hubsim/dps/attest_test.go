package dps

import (
	"testing"
	"time"

	"github.com/cloudpillar/cloudpillar/internal/testpki"
)

// TestNodeSDKTokenAndUserNameVerify replays the Node provisioning SDK's
// CONNECT from wire/node-sdk.jsonl (flow dps-symkey-group): its user name
// (api-version 2019-03-31, ClientVersion) and its SAS token with an
// unencoded sr must authenticate against a group holding the wire key.
func TestNodeSDKTokenAndUserNameVerify(t *testing.T) {
	const (
		groupKey = "ccAKzOG3JAuAU/A+4T/n9zAuvv6+xTv0C1S9mT6TqQVcGx3qB1iKLHkMDYK1hLrt+NzeG+U/T46hfAs+H788EA=="
		username = "0ne00WC0FFE/registrations/reg-sym-01/api-version=2019-03-31&ClientVersion=azure-iot-provisioning-device%2F1.9.1"
		password = "SharedAccessSignature sr=0ne00WC0FFE/registrations/reg-sym-01&sig=n4nC2enWJzTr8WIUAONyQPDrDuDzezkjqGBXOcfu0wU%3D&skn=registration&se=1795876659"
	)
	lab, _ := testpki.NewLabPKI(testpki.LabOptions{})
	capture := time.Date(2026, 11, 28, 13, 37, 40, 0, time.UTC)
	s, err := New(Config{IDScope: "0ne00WC0FFE", Issuer: lab.Operational, AssignedHub: "h", Now: func() time.Time { return capture }})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.AddGroup(Enrollment{ID: "g", Attestation: AttestSymmetricKey, PrimaryKey: groupKey}); err != nil {
		t.Fatal(err)
	}
	att, err := s.attest("reg-sym-01", username, []byte(password), nil)
	if err != nil {
		t.Fatalf("Node SDK CONNECT refused: %v", err)
	}
	if att.registrationID != "reg-sym-01" || !att.group || att.enrollmentID != "g" || att.method != AttestSymmetricKey {
		t.Fatalf("attested %+v", att)
	}
	s.cfg.Now = func() time.Time { return time.Unix(1795876659, 0) }
	if _, err := s.attest("reg-sym-01", username, []byte(password), nil); err == nil {
		t.Fatal("expired token accepted")
	}
	s.cfg.Now = func() time.Time { return capture }
	if _, err := s.attest("reg-sym-02", username, []byte(password), nil); err == nil {
		t.Fatal("token accepted for a client id other than the user name's")
	}
	tests := []struct{ name, user, pass string }{
		{"token for another registration", "0ne00WC0FFE/registrations/reg-sym-02/api-version=2019-03-31", password},
		{"device token without skn", username, "SharedAccessSignature sr=0ne00WC0FFE/registrations/reg-sym-01&sig=n4nC2enWJzTr8WIUAONyQPDrDuDzezkjqGBXOcfu0wU%3D&se=1795876659"},
		{"no credential at all (not TLS)", username, ""},
	}
	for _, tc := range tests {
		id := "reg-sym-01"
		if tc.name == "token for another registration" {
			id = "reg-sym-02"
		}
		if _, err := s.attest(id, tc.user, []byte(tc.pass), nil); err == nil {
			t.Errorf("%s: accepted", tc.name)
		}
	}
}
