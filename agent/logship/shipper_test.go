package logship

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/cloudpillar/cloudpillar/internal/leakcheck"
	"github.com/cloudpillar/cloudpillar/internal/testclock"
)

func TestClassify(t *testing.T) {
	tests := []struct {
		err  error
		want action
	}{
		{ErrPaused, actPause},
		{fmt.Errorf("x: %w", ErrSourceGone), actFail},
		{fmt.Errorf("%w: boom", errStore), actFail},
		{errors.New("dial tcp: connection refused"), actRetry},
		{&StatusError{Op: opBlock, Status: 500}, actRetry},
		{&StatusError{Op: opStart, Status: 429}, actRetry},
		{&StatusError{Op: opStart, Status: 403, Code: "DeviceMaximumActiveFileUploadLimitExceeded"}, actRetry},
		{&StatusError{Op: opStart, Status: 403, Message: `{"errorCode":403006}`}, actRetry},
		{&StatusError{Op: opStart, Status: 403, Code: "IotHubUnauthorized"}, actFail},
		{&StatusError{Op: opStart, Status: 401}, actRetry},
		{&StatusError{Op: opStart, Status: 400}, actFail},
		{&StatusError{Op: opStart, Status: 404}, actFail},
		{&StatusError{Op: opBlock, Status: 403, Code: "AuthenticationFailed"}, actRenew},
		{&StatusError{Op: opCommit, Status: 404}, actRenew},
		{&StatusError{Op: opCommit, Status: 400, Code: "InvalidBlockList"}, actRepair},
		{&StatusError{Op: opNotify, Status: 400}, actReopen},
		{&StatusError{Op: opBlock, Status: 413}, actFail},
		{&StatusError{Op: opBlock, Status: 400, Code: "Md5Mismatch"}, actRetry},
		{&StatusError{Op: opBlock, Status: 400, Code: "Crc64Mismatch"}, actRetry},
		{&StatusError{Op: opCommit, Status: 400, Code: "InvalidMetadata"}, actFail},
	}
	for _, tc := range tests {
		if got := classify(tc.err); got != tc.want {
			t.Errorf("classify(%v) = %v, want %v", tc.err, got, tc.want)
		}
	}
}

func TestPublicTextNamesNoPath(t *testing.T) {
	err := fmt.Errorf("%w: open /data/Patient_Doe.log: %w", errRead, errors.New("permission denied"))
	if got := publicText(err); got != "source file cannot be read" {
		t.Errorf("publicText = %q", got)
	}
	if got := publicText(fmt.Errorf("put block: %w", &StatusError{Op: opBlock, Status: 500})); !strings.HasPrefix(got, "put block: 500") {
		t.Errorf("publicText = %q", got)
	}
}

// quiet is a Shipper with no hub, for what needs none.
func quiet(t *testing.T, mut func(*Config)) (*Shipper, *statusLog) {
	t.Helper()
	cfg := Config{DeviceID: dev, HostName: "hub.invalid", Sources: []Source{deviceLogs(t.TempDir())}, Logger: testLogger(t)}
	if mut != nil {
		mut(&cfg)
	}
	return newShipper(t, cfg)
}

func TestHandleMethodAnswersAtOnce(t *testing.T) {
	s, log := quiet(t, nil)
	tests := []struct {
		payload string
		status  int
		key     string
	}{
		{``, 200, "jobId"},
		{`null`, 200, "jobId"},
		{`{}`, 200, "jobId"},
		{`{"from":"2025-01-01T00:00:00Z","to":"2025-01-02T00:00:00Z","sources":["device"]}`, 200, "jobId"},
		{`{"sources":["nope"]}`, 400, "error"},
		{`{"from":"yesterday"}`, 400, "error"},
		{`{"from":"2025-01-02T00:00:00Z","to":"2025-01-01T00:00:00Z"}`, 400, "error"},
		{`{"extra":1}`, 400, "error"},
		{`[1]`, 400, "error"},
	}
	for _, tc := range tests {
		status, body := s.HandleMethod([]byte(tc.payload))
		var m map[string]string
		if err := json.Unmarshal(body, &m); err != nil || status != tc.status || m[tc.key] == "" {
			t.Errorf("HandleMethod(%q) = %d %s, want %d with %q", tc.payload, status, body, tc.status, tc.key)
			continue
		}
		if status == 200 && log.state(m["jobId"]) != StateQueued {
			t.Errorf("job %s is %q, want queued", m["jobId"], log.state(m["jobId"]))
		}
	}
	for _, p := range []map[string]any{nil, {"sources": []any{"device"}}} {
		if status, resp := s.UploadLogsMethod(p); status != 200 || resp["jobId"] == "" {
			t.Errorf("UploadLogsMethod(%v) = %d %v", p, status, resp)
		}
	}
	if status, resp := s.UploadLogsMethod(map[string]any{"sources": "device"}); status != 400 || resp["error"] == nil {
		t.Errorf("UploadLogsMethod with sources as a string = %d %v", status, resp)
	}
}

// TestScheduleRequestsPeriodicUploads: the twin's interval makes a job
// per period, each covering the time since the last; the schedule
// survives a restart without repeating a period.
func TestScheduleRequestsPeriodicUploads(t *testing.T) {
	leakcheck.Check(t, 5*time.Second)
	clk := testclock.New(time.Date(2025, 1, 1, 8, 0, 0, 0, time.UTC))
	store := NewMemoryStore()
	s, log := quiet(t, func(c *Config) { c.Now, c.Store = clk.Now, store })
	if err := s.SetSchedule(time.Hour, []string{"device"}); err != nil {
		t.Fatal(err)
	}
	if s.scheduleTick() != 0 || len(s.Jobs()) != 1 {
		t.Fatalf("first tick made %d jobs", len(s.Jobs()))
	}
	if d := s.scheduleTick(); d != maxIdle {
		t.Errorf("next tick in %v, want %v (the runner sleeps at most that)", d, maxIdle)
	}
	clk.Advance(time.Hour)
	s.scheduleTick()
	jobs := s.Jobs()
	if len(jobs) != 2 {
		t.Fatalf("after one period: %d jobs", len(jobs))
	}
	for id, st := range jobs {
		if st.(map[string]any)["reason"] != "schedule" || log.state(id) != StateQueued {
			t.Errorf("job %s: %v", id, st)
		}
	}
	s2, _ := quiet(t, func(c *Config) { c.Now, c.Store = clk.Now, store })
	if s2.interval() != time.Hour || s2.scheduleTick() == 0 {
		t.Error("a restarted shipper repeated the period or lost the schedule")
	}
	if err := s.SetSchedule(time.Hour, []string{"nope"}); !errors.Is(err, ErrUnknownSource) {
		t.Errorf("unknown source: %v", err)
	}
}

func TestTriggerIsDebounced(t *testing.T) {
	clk := testclock.New(time.Date(2025, 1, 1, 8, 0, 0, 0, time.UTC))
	s, log := quiet(t, func(c *Config) { c.Now = clk.Now })
	id := s.Trigger("connection lost")
	if id == "" || s.Trigger("again") != "" {
		t.Fatal("a second trigger within TriggerEvery was not suppressed")
	}
	if st := log.get(id); st["reason"] != "error: connection lost" {
		t.Errorf("reason %v", st["reason"])
	}
	clk.Advance(DefaultTriggerEvery)
	if s.Trigger("later") == "" {
		t.Error("a trigger after TriggerEvery was suppressed")
	}
}

// TestFinishedJobsBeyondKeepJobsAreForgotten: the twin does not grow
// without bound: the oldest finished jobs are reported null and removed.
func TestFinishedJobsBeyondKeepJobsAreForgotten(t *testing.T) {
	leakcheck.Check(t, 5*time.Second)
	store := NewMemoryStore()
	s, log := quiet(t, func(c *Config) { c.KeepJobs, c.Store = 2, store })
	var ids []string
	for range 4 {
		ids = append(ids, s.Request(time.Time{}, time.Time{}, []string{"nope"})) // fails at once
	}
	s.forgetOld()
	for i, id := range ids {
		_, known := s.Status(id)
		if known != (i >= 2) {
			t.Errorf("job %d known=%v", i, known)
		}
	}
	if h := log.history(ids[0]); h[len(h)-1] != "<forgotten>" {
		t.Errorf("forgotten job's reports: %v", h)
	}
	if keys, _ := keysWith(store, jobKeyPrefix); len(keys) != 2 {
		t.Errorf("store keeps %d jobs", len(keys))
	}
}

func TestSessionHashStateRoundTrips(t *testing.T) {
	s := &session{Job: "j", Index: 1}
	h := newHashes()
	h.sha.Write([]byte("abc"))
	s.save(h)
	b, _ := json.Marshal(s)
	var back session
	json.Unmarshal(b, &back)
	h2, err := back.hashes()
	if err != nil {
		t.Fatal(err)
	}
	h.sha.Write([]byte("def"))
	h2.sha.Write([]byte("def"))
	if fmt.Sprintf("%x", h.sha.Sum(nil)) != fmt.Sprintf("%x", h2.sha.Sum(nil)) {
		t.Fatal("restored SHA-256 state differs")
	}
}

func TestConfigValidation(t *testing.T) {
	base := func() Config {
		return Config{DeviceID: "d", HostName: "h", Sources: []Source{{Name: "device", Kind: KindDeviceLog, Root: "/tmp"}}}
	}
	tests := []struct {
		name string
		mut  func(*Config)
	}{
		{"no device", func(c *Config) { c.DeviceID = "" }},
		{"block too big", func(c *Config) { c.BlockSize = MaxBlockSize + 1 }},
		{"bad name", func(c *Config) { c.Sources[0].Name = "a b" }},
		{"bad kind", func(c *Config) { c.Sources[0].Kind = "x" }},
		{"no root", func(c *Config) { c.Sources[0].Root = "" }},
		{"bad pattern", func(c *Config) { c.Sources[0].Patterns = []string{"["} }},
		{"twice", func(c *Config) { c.Sources = append(c.Sources, c.Sources[0]) }},
	}
	for _, tc := range tests {
		c := base()
		tc.mut(&c)
		if _, err := New(c); err == nil {
			t.Errorf("%s: accepted", tc.name)
		}
	}
	if _, err := New(base()); err != nil {
		t.Errorf("valid config refused: %v", err)
	}
}

// TestTwinProperties: the schedule period and the bandwidth cap are
// desired properties with bounds.
func TestTwinProperties(t *testing.T) {
	s, _ := quiet(t, nil)
	props := s.Properties(nil)
	apply := func(name string, raw any) (any, error) {
		for _, p := range props {
			if p.Name == name {
				return p.Apply(raw)
			}
		}
		t.Fatalf("no property %s", name)
		return nil, nil
	}
	if v, err := apply(PropInterval, json.Number("3600")); err != nil || v != int64(3600) || s.interval() != time.Hour {
		t.Errorf("interval 3600: %v %v", v, err)
	}
	for _, bad := range []any{json.Number("30"), "x", json.Number("-1"), 1.5} {
		if _, err := apply(PropInterval, bad); err == nil {
			t.Errorf("interval %v accepted", bad)
		}
	}
	if v, err := apply(PropBytesPerSecond, float64(1<<20)); err != nil || v != int64(1<<20) || s.limit.rate() != 1<<20 {
		t.Errorf("bandwidth: %v %v", v, err)
	}
	if _, err := apply(PropBytesPerSecond, -5.0); err == nil {
		t.Error("negative bandwidth accepted")
	}
}

// TestRunTwiceIsRefused: one runner per Shipper.
func TestRunTwiceIsRefused(t *testing.T) {
	leakcheck.Check(t, 5*time.Second)
	s, _ := quiet(t, nil)
	run(t, s)
	waitFor(t, time.Second, "Run to start", s.running.Load)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if err := s.Run(ctx); err == nil {
		t.Fatal("second Run accepted")
	}
}

// TestJobStatusFitsTheTwin: a job's report stays small whatever its size
// (reported properties are limited to 32 KB in all).
func TestJobStatusFitsTheTwin(t *testing.T) {
	j := &job{ID: newJobID(time.Now()), Reason: "request", State: StateFailed, Error: strings.Repeat("e", 300)}
	for i := range 200 {
		j.Files = append(j.Files, fileResult{
			Source: "device", Blob: j.ID + "/device/" + strings.Repeat("d", 40) + fmt.Sprint(i) + ".log.gz", State: fileFailed,
			SHA256: strings.Repeat("a", 64), ContentSHA256: strings.Repeat("b", 64), Error: strings.Repeat("x", 300),
		})
	}
	b, err := json.Marshal(j.status())
	if err != nil {
		t.Fatal(err)
	}
	if len(b) > 5<<10 {
		t.Errorf("a 200-file job reports %d bytes", len(b))
	}
	t.Logf("200-file job with long errors: %d bytes", len(b))
}
