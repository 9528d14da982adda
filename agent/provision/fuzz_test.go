package provision

import (
	"testing"
	"time"
)

// FuzzResponse feeds arbitrary response topics and bodies (outside input
// from DPS) through the parser and the protocol step: no panic, and a
// finished step always names a hub and a device.
func FuzzResponse(f *testing.F) {
	f.Add("$dps/registrations/res/202/?$rid=1&retry-after=3", []byte(`{"operationId":"4.a.b","status":"assigning"}`))
	f.Add("$dps/registrations/res/200/?$rid=1", []byte(`{"operationId":"o","status":"assigned","registrationState":{"assignedHub":"h","deviceId":"d","issuedCertificateChain":["AA=="]}}`))
	f.Add("$dps/registrations/res/429/?$rid=1&retry-after=-5", []byte(`{"errorCode":429001}`))
	f.Add("$dps/registrations/res/401/?$rid=%zz", []byte(`null`))
	f.Fuzz(func(t *testing.T, topic string, body []byte) {
		r, err := ParseResponseTopic(topic)
		if err != nil {
			return
		}
		if r.RetryAfter < -1 {
			t.Fatalf("negative retry-after %v from %q", r.RetryAfter, topic)
		}
		st, err := next(r, body, "", time.Second)
		if err != nil || st.done == nil {
			return
		}
		if rs := st.done.RegistrationState; rs == nil || rs.AssignedHub == "" || rs.DeviceID == "" {
			t.Fatalf("finished without hub or device: %+v", st.done)
		}
		_, _ = resultFrom(st.done)
	})
}

func FuzzParseUsername(f *testing.F) {
	f.Add("0ne00WC0FFE/registrations/reg-x509-01/api-version=2019-03-31&ClientVersion=azure-iot-provisioning-device%2F1.9.1")
	f.Add("a/registrations//")
	f.Fuzz(func(t *testing.T, u string) {
		p, err := ParseUsername(u)
		if err == nil && (p.IDScope == "" || p.RegistrationID == "" || p.APIVersion == "") {
			t.Fatalf("ParseUsername(%q) = %+v without error", u, p)
		}
	})
}
