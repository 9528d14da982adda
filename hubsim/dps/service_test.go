package dps

import (
	"crypto/tls"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/cloudpillar/cloudpillar/hubsim/sas"
)

// serviceClient calls a fixture's service API with an owner token.
type serviceClient struct {
	t     *testing.T
	f     *fixture
	http  *http.Client
	token string
}

func newServiceClient(t *testing.T, f *fixture) *serviceClient {
	t.Helper()
	key := f.dps.ServiceConnectionString()[strings.Index(f.dps.ServiceConnectionString(), "SharedAccessKey=")+len("SharedAccessKey="):]
	tok, err := sas.Sign(f.dps.HostName(), key, OwnerPolicy, time.Now().Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: f.lab.ServerRoots(), ServerName: "localhost"}}
	t.Cleanup(tr.CloseIdleConnections)
	return &serviceClient{t: t, f: f, http: &http.Client{Transport: tr, Timeout: 10 * time.Second}, token: tok}
}

func (c *serviceClient) do(method, path, body, token string) (int, string) {
	c.t.Helper()
	req, err := http.NewRequest(method, "https://"+c.f.dps.HTTPSAddr()+path, strings.NewReader(body))
	if err != nil {
		c.t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", token)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

const apiVersion = "?api-version=2021-10-01"

func TestServiceAPIIndividualSymmetricKeyEnrollment(t *testing.T) {
	f := newFixture(t, func(c *Config) { c.HTTPSAddr = "127.0.0.1:0" })
	c := newServiceClient(t, f)
	const key = "nxFT9sFl/38S0dX7CUpJtzW16Hsv+VXEhc1zlI9BU3E="
	doc := `{"registrationId":"reg-rest","attestation":{"type":"symmetricKey","symmetricKey":{"primaryKey":"` + key + `","secondaryKey":""}},"provisioningStatus":"enabled"}`
	if code, body := c.do("PUT", "/enrollments/reg-rest"+apiVersion, doc, c.token); code != 200 {
		t.Fatalf("PUT enrollment = %d %s", code, body)
	}
	cfg := f.config(t, "reg-rest")
	cfg.SymmetricKey = key
	if _, err := register(t, cfg); err != nil {
		t.Fatalf("register with a REST-created enrollment: %v", err)
	}
	code, body := c.do("GET", "/enrollments/reg-rest"+apiVersion, "", c.token)
	var got enrollmentDoc
	if code != 200 || json.Unmarshal([]byte(body), &got) != nil || got.RegistrationID != "reg-rest" || got.Attestation.SymmetricKey == nil {
		t.Fatalf("GET enrollment = %d %s", code, body)
	}
	if code, _ := c.do("DELETE", "/enrollments/reg-rest"+apiVersion, "", c.token); code != 204 {
		t.Fatalf("DELETE = %d, want 204", code)
	}
	if code, body := c.do("GET", "/enrollments/reg-rest"+apiVersion, "", c.token); code != 404 || !strings.Contains(body, "404201") {
		t.Fatalf("GET after DELETE = %d %s, want 404 errorCode 404201", code, body)
	}
}

func TestServiceAPIEnrollmentGroupWithSigningCertificate(t *testing.T) {
	f := newFixture(t, func(c *Config) { c.HTTPSAddr = "127.0.0.1:0" })
	c := newServiceClient(t, f)
	if err := f.dps.DeleteGroup(bootGroup); err != nil {
		t.Fatal(err)
	}
	pemCA, _ := json.Marshal(string(f.lab.Bootstrap.CertPEM))
	doc := `{"enrollmentGroupId":"factory","attestation":{"type":"x509","x509":{"signingCertificates":{"primary":{"certificate":` +
		string(pemCA) + `}}}},"reprovisionPolicy":{"updateHubAssignment":true,"migrateDeviceData":false},"issueCertificates":true}`
	if code, body := c.do("PUT", "/enrollmentGroups/factory"+apiVersion, doc, c.token); code != 200 {
		t.Fatalf("PUT group = %d %s", code, body)
	}
	g, ok := f.dps.Group("factory")
	if !ok || len(g.CAs) != 1 || g.Reprovision != ReprovisionReset || !g.IssueCertificates {
		t.Fatalf("stored group %+v", g)
	}
	cfg := f.config(t, "reg-factory")
	cfg.Certificate = f.bootstrap(t, "reg-factory")
	if _, err := register(t, cfg); err != nil {
		t.Fatalf("register through the REST-created group: %v", err)
	}
}

func TestServiceAPIRefusals(t *testing.T) {
	f := newFixture(t, func(c *Config) { c.HTTPSAddr = "127.0.0.1:0" })
	c := newServiceClient(t, f)
	wrongPolicy, _ := sas.Sign(f.dps.HostName(), "nxFT9sFl/38S0dX7CUpJtzW16Hsv+VXEhc1zlI9BU3E=", "enrollmentread", time.Now().Add(time.Hour))
	tests := []struct {
		name, method, path, body, token string
		want                            int
	}{
		{"no token", "GET", "/enrollments/x" + apiVersion, "", "", 401},
		{"another policy", "GET", "/enrollments/x" + apiVersion, "", wrongPolicy, 401},
		{"no api-version", "GET", "/enrollments/x", "", c.token, 400},
		{"malformed body", "PUT", "/enrollments/x" + apiVersion, "{", c.token, 400},
		{"id mismatch", "PUT", "/enrollments/x" + apiVersion, `{"registrationId":"y","attestation":{"type":"symmetricKey","symmetricKey":{"primaryKey":"a2V5"}}}`, c.token, 400},
		{"x509 group without a CA", "PUT", "/enrollmentGroups/g" + apiVersion, `{"attestation":{"type":"x509","x509":{}}}`, c.token, 400},
		{"delete unknown", "DELETE", "/enrollmentGroups/none" + apiVersion, "", c.token, 404},
	}
	for _, tc := range tests {
		if code, body := c.do(tc.method, tc.path, tc.body, tc.token); code != tc.want {
			t.Errorf("%s: %s %s = %d %s, want %d", tc.name, tc.method, tc.path, code, body, tc.want)
		}
	}
}
