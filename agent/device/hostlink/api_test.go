package hostlink

import (
	"bytes"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cloudpillar/cloudpillar/agent/device"
)

func TestCaseLifecycleOverTCP(t *testing.T) {
	clock := newFakeClock()
	tl := startLink(t, Config{Clock: clock})
	created := clock.Now()

	st := tl.status(t)
	if st.CaseState != "unknown" || !st.Since.Equal(created) || st.LastHeartbeat != nil || st.LinkTimeoutSeconds != 30 {
		t.Fatalf("initial status = %+v, want unknown since creation, no heartbeat, 30 s", st)
	}
	if got := tl.CaseState(); got != device.CaseUnknown {
		t.Fatalf("CaseState before the host speaks = %v, want unknown", got)
	}

	clock.Advance(time.Second)
	tl.mustDo(t, http.MethodPost, PathCaseStart, `{"caseId":"c-1"}`, http.StatusOK)
	if got := tl.CaseState(); got != device.CaseLive {
		t.Fatalf("CaseState after start = %v, want live", got)
	}
	clock.Advance(time.Second)
	tl.mustDo(t, http.MethodPost, PathHeartbeat, `{"status":"ok","metrics":{"fanRpm":1200,"tempC":36.6,"mode":"mapping"}}`, http.StatusNoContent)
	m := tl.Metrics()
	if m["fanRpm"] != int64(1200) || m["tempC"] != 36.6 || m["mode"] != "mapping" || m[MetricHostStatus] != "ok" {
		t.Fatalf("Metrics = %v", m)
	}

	clock.Advance(time.Second)
	body := tl.mustDo(t, http.MethodPost, PathCaseStop, `{"caseId":"c-1"}`, http.StatusOK)
	if !strings.Contains(body, `"caseState":"idle"`) {
		t.Fatalf("stop answered %s, want the idle status", body)
	}
	st = tl.status(t)
	if st.CaseState != "idle" || !st.Since.Equal(created.Add(3*time.Second)) ||
		st.LastHeartbeat == nil || !st.LastHeartbeat.Equal(created.Add(2*time.Second)) {
		t.Fatalf("status after stop = %+v", st)
	}
}

func TestLinkTimeoutMakesCaseUnknown(t *testing.T) {
	clock := newFakeClock()
	tl := startLink(t, Config{Clock: clock, LinkTimeout: 10 * time.Second})
	tl.mustDo(t, http.MethodPost, PathCaseStop, "", http.StatusOK)
	start := clock.Now()

	clock.Advance(9 * time.Second)
	tl.mustDo(t, http.MethodPost, PathHeartbeat, `{"status":"ok"}`, http.StatusNoContent)
	clock.Advance(9 * time.Second)
	if got := tl.CaseState(); got != device.CaseIdle {
		t.Fatalf("CaseState 9 s after a heartbeat = %v, want idle", got)
	}
	clock.Advance(time.Second)
	if got := tl.CaseState(); got != device.CaseUnknown {
		t.Fatalf("CaseState after the link timeout = %v, want unknown", got)
	}
	st := tl.status(t)
	if st.CaseState != "unknown" || !st.Since.Equal(start.Add(19*time.Second)) {
		t.Fatalf("status after timeout = %+v, want unknown since the lapse", st)
	}
	if m := tl.Metrics(); len(m) != 1 || m[MetricHostStatus] != StatusUnknown {
		t.Fatalf("Metrics after timeout = %v, want only hostStatus unknown", m)
	}

	// The host comes back: a heartbeat does not restore the old case.
	tl.mustDo(t, http.MethodPost, PathHeartbeat, `{"status":"ok"}`, http.StatusNoContent)
	if got := tl.CaseState(); got != device.CaseUnknown {
		t.Fatalf("CaseState after the host returns = %v, want unknown until it says", got)
	}
	tl.mustDo(t, http.MethodPost, PathCaseStop, `{}`, http.StatusOK)
	if got := tl.CaseState(); got != device.CaseIdle {
		t.Fatalf("CaseState after stop = %v, want idle", got)
	}
}

func TestRequestsWithoutTheTokenAreRefused(t *testing.T) {
	tl := startLink(t, Config{})
	tl.mustDo(t, http.MethodPost, PathCaseStop, "", http.StatusOK)
	tests := []struct {
		name, header string
	}{
		{"no header", ""},
		{"wrong token", "Bearer " + strings.Repeat("x", len(testToken))},
		{"token prefix", "Bearer " + testToken[:20]},
		{"token plus suffix", "Bearer " + testToken + "0"},
		{"basic scheme", "Basic " + testToken},
		{"no scheme", testToken},
		{"empty bearer", "Bearer "},
	}
	for _, tc := range tests {
		for _, path := range []string{PathCaseStart, PathStatus, "/nowhere"} {
			t.Run(tc.name+path, func(t *testing.T) {
				req, _ := http.NewRequest(http.MethodPost, tl.base+path, strings.NewReader(`{"caseId":"c"}`))
				if tc.header != "" {
					req.Header.Set("Authorization", tc.header)
				}
				resp, err := tl.client.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				if resp.StatusCode != http.StatusUnauthorized || resp.Header.Get("WWW-Authenticate") == "" {
					t.Fatalf("%s with %q = %d, want 401 with WWW-Authenticate", path, tc.header, resp.StatusCode)
				}
			})
		}
	}
	if got := tl.CaseState(); got != device.CaseIdle {
		t.Fatalf("CaseState after refused starts = %v, want idle (unchanged)", got)
	}
	req, _ := http.NewRequest(http.MethodGet, tl.base+PathStatus, nil)
	req.Header.Set("Authorization", "bearer "+testToken) // the scheme is case-insensitive (RFC 6750)
	if resp, err := tl.client.Do(req); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("lower-case scheme: %v %v, want 200", resp, err)
	} else {
		resp.Body.Close()
	}
}

func TestBadRequestsAre400AndNameTheProblem(t *testing.T) {
	tests := []struct {
		name, path, body, want string
	}{
		{"bad JSON", PathCaseStart, `{"caseId":`, "unexpected end"},
		{"syntax", PathCaseStart, `{"caseId" "x"}`, "invalid JSON at byte"},
		{"unknown field", PathCaseStart, `{"caseId":"c","patient":"Jane"}`, `unknown field "patient"`},
		{"wrong type", PathCaseStart, `{"caseId":42}`, `field "caseId": want a string, got JSON number`},
		{"missing caseId", PathCaseStart, `{}`, "caseId: required"},
		{"empty start", PathCaseStart, ``, "request body is empty"},
		{"array body", PathCaseStop, `[1]`, "want a JSON object"},
		{"trailing data", PathCaseStop, `{} {}`, "unexpected data after the JSON object"},
		{"oversized", PathCaseStart, `{"caseId":"` + strings.Repeat("a", MaxBodyBytes) + `"}`, "request body exceeds 65536 bytes"},
		{"no status", PathHeartbeat, `{"metrics":{}}`, "status: required"},
		{"bad status", PathHeartbeat, `{"status":"fine"}`, "status: want one of ok, degraded, fault"},
		{"object metric", PathHeartbeat, `{"status":"ok","metrics":{"fan":{"rpm":1}}}`, `metrics["fan"]: want a number or a string`},
		{"bool metric", PathHeartbeat, `{"status":"ok","metrics":{"on":true}}`, `metrics["on"]: want a number or a string`},
		{"null metric", PathHeartbeat, `{"status":"ok","metrics":{"n":null}}`, `metrics["n"]: want a number or a string`},
		{"huge number", PathHeartbeat, `{"status":"ok","metrics":{"n":1e999}}`, `metrics["n"]: number out of range`},
		{"reserved metric", PathHeartbeat, `{"status":"ok","metrics":{"hostStatus":"ok"}}`, `metrics["hostStatus"]: name is reserved`},
		{"empty metric name", PathHeartbeat, `{"status":"ok","metrics":{"":1}}`, "metric name is empty"},
		{"heartbeat unknown field", PathHeartbeat, `{"status":"ok","caseId":"x"}`, `unknown field "caseId"`},
	}
	tl := startLink(t, Config{})
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, body := tl.do(t, http.MethodPost, tc.path, testToken, tc.body)
			if code != http.StatusBadRequest {
				t.Fatalf("POST %s %.40s = %d %s, want 400", tc.path, tc.body, code, body)
			}
			if got := errorText(t, body); !strings.Contains(got, tc.want) {
				t.Fatalf("POST %s %.40s: error %q, want it to contain %q", tc.path, tc.body, got, tc.want)
			}
		})
	}
}

func TestMalformedCaseRequestMakesCaseUnknown(t *testing.T) {
	tl := startLink(t, Config{})
	for _, path := range []string{PathCaseStart, PathCaseStop} {
		tl.mustDo(t, http.MethodPost, PathCaseStop, "", http.StatusOK)
		tl.mustDo(t, http.MethodPost, path, `{"caseId":`, http.StatusBadRequest)
		if got := tl.CaseState(); got != device.CaseUnknown {
			t.Fatalf("CaseState after a malformed %s = %v, want unknown", path, got)
		}
	}
	tl.mustDo(t, http.MethodPost, PathCaseStop, "", http.StatusOK)
	tl.mustDo(t, http.MethodPost, PathHeartbeat, `{"status":"bad"}`, http.StatusBadRequest)
	if got := tl.CaseState(); got != device.CaseIdle {
		t.Fatalf("CaseState after a malformed heartbeat = %v, want idle (unchanged)", got)
	}
}

func TestUnknownPathsAndMethods(t *testing.T) {
	tl := startLink(t, Config{})
	if code, body := tl.do(t, http.MethodGet, "/v1/nope", testToken, ""); code != http.StatusNotFound || errorText(t, body) == "" {
		t.Fatalf("GET /v1/nope = %d %s, want 404 with a JSON error", code, body)
	}
	req, _ := http.NewRequest(http.MethodGet, tl.base+PathCaseStart, nil)
	req.Header.Set("Authorization", "Bearer "+testToken)
	resp, err := tl.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed || resp.Header.Get("Allow") != http.MethodPost {
		t.Fatalf("GET %s = %d Allow %q, want 405 Allow POST", PathCaseStart, resp.StatusCode, resp.Header.Get("Allow"))
	}
}

func TestCaseIDIsNeverLogged(t *testing.T) {
	var logs syncBuffer
	tl := startLink(t, Config{Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	const id = "MRN-4471-DOE-JANE"
	tl.mustDo(t, http.MethodPost, PathCaseStart, `{"caseId":"`+id+`"}`, http.StatusOK)
	tl.mustDo(t, http.MethodPost, PathCaseStop, `{"caseId":"`+id+`"}`, http.StatusOK)
	tl.mustDo(t, http.MethodPost, PathCaseStart, `{"caseId":"`+id+`", "x":1}`, http.StatusBadRequest)
	out := logs.String()
	if strings.Contains(out, "MRN") || strings.Contains(out, "DOE") {
		t.Fatalf("logs contain the case id:\n%s", out)
	}
	ref := tl.caseRef(id)
	if strings.Count(out, "caseRef="+ref) != 2 {
		t.Fatalf("logs should name caseRef=%s for start and stop:\n%s", ref, out)
	}
}

func TestConcurrentRequests(t *testing.T) {
	tl := startLink(t, Config{})
	const workers, each = 8, 40
	var wg sync.WaitGroup
	errs := make(chan string, workers*each)
	for w := range workers {
		wg.Go(func() {
			for i := range each {
				var path, body string
				want := http.StatusOK
				switch (w + i) % 4 {
				case 0:
					path, body = PathCaseStart, `{"caseId":"c"}`
				case 1:
					path = PathCaseStop
				case 2:
					path, body, want = PathHeartbeat, `{"status":"degraded","metrics":{"i":1}}`, http.StatusNoContent
				case 3:
					_ = tl.CaseState()
					_ = tl.Metrics()
					continue
				}
				code, got, err := tl.send(http.MethodPost, path, testToken, body)
				if err != nil {
					errs <- err.Error()
				} else if code != want {
					errs <- path + ": " + got
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
	if got := tl.CaseState(); got != device.CaseLive && got != device.CaseIdle {
		t.Fatalf("CaseState after concurrent starts and stops = %v, want live or idle", got)
	}
}

// syncBuffer is a bytes.Buffer safe for the server's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
