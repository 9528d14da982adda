package sas

import (
	"errors"
	"strings"
	"testing"
	"time"
)

// FuzzParse: Parse never panics, fails only with ErrMalformed, and a parsed
// token's checks never panic.
func FuzzParse(f *testing.F) {
	seeds := []string{
		"SharedAccessSignature sr=wirecap-hub.azure-devices.net%2Fdevices%2Fdev-sas-01&sig=kbDGkmOjkW%2BGd186J3yJhI87B1UeGTF7Xfv8IqApdqg%3D&se=1795876641",
		"SharedAccessSignature sr=0ne00WC0FFE/registrations/reg-sym-01&sig=n4nC2enWJzTr8WIUAONyQPDrDuDzezkjqGBXOcfu0wU%3D&skn=registration&se=1795876659",
		"SharedAccessSignature se=1&sig=a+b/c=&sr=h&skn=device",
		"SharedAccessSignature sr=&sig=&se=",
		"sharedaccesssignature   sr=%&sig=%%&se=-1",
		"SharedAccessSignature sr=a&sr=a",
	}
	for _, s := range seeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		tok, err := Parse(s)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("Parse(%q) = %v, want ErrMalformed", s, err)
			}
			return
		}
		if tok.Resource == "" || tok.Expiry == "" || !strings.HasPrefix(strings.ToLower(s), "sharedaccesssignature ") {
			t.Fatalf("Parse(%q) = %+v without its required parts", s, tok)
		}
		_ = tok.Verify(keySAS01)
		_ = tok.Expired(time.Now())
		_ = tok.Grants(wireHost, "dev-sas-01", "")
	})
}
