package carto

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/cloudpillar/cloudpillar/agent/update"
)

// TestJournalRecordsInstallerSteps wraps real slots and checks that every
// step is recorded in order with its outcome.
func TestJournalRecordsInstallerSteps(t *testing.T) {
	s, err := OpenSlots(filepath.Join(t.TempDir(), "slots"), Version)
	if err != nil {
		t.Fatal(err)
	}
	j := NewJournal(nil)
	in := j.Installer(s)
	ctx := context.Background()
	if err := in.InstallToInactive(ctx, update.UpdateID{Version: "7.3.0"}, staged(t, "a.img")); err != nil {
		t.Fatal(err)
	}
	if err := in.Activate(ctx); err != nil {
		t.Fatal(err)
	}
	s.FailHealthCheck(errors.New("injected"))
	if err := in.HealthCheck(ctx); err == nil {
		t.Fatal("health check passed despite the injected failure")
	}
	if err := in.Rollback(); err != nil {
		t.Fatal(err)
	}
	if in.ActiveSlot() != SlotA {
		t.Fatalf("active slot %s after rollback, want A", in.ActiveSlot())
	}
	want := []struct {
		kind WorkKind
		err  bool
	}{{WorkInstall, false}, {WorkActivate, false}, {WorkHealthCheck, true}, {WorkRollback, false}}
	spans := j.Spans()
	if len(spans) != len(want) {
		t.Fatalf("spans = %+v, want %d", spans, len(want))
	}
	for i, w := range want {
		sp := spans[i]
		if sp.Kind != w.kind || sp.Err != w.err || sp.End.Before(sp.Start) {
			t.Errorf("span %d = %+v, want kind %s err %v", i, sp, w.kind, w.err)
		}
	}
	if j.Count(WorkActivate) != 1 || j.Count(WorkHealthCheck) != 0 {
		t.Errorf("counts: activate %d health %d, want 1 and 0", j.Count(WorkActivate), j.Count(WorkHealthCheck))
	}
}

// TestJournalRecordsDownloadsUntilBodyClose serves a payload on loopback
// and checks the download span stays open until the body is closed.
func TestJournalRecordsDownloadsUntilBodyClose(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "payload")
	}))
	t.Cleanup(srv.Close)
	clock := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	j := NewJournal(func() time.Time { clock = clock.Add(time.Second); return clock })
	c := &http.Client{Transport: j.Transport(nil)}
	resp, err := c.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	if sp := j.Spans(); len(sp) != 1 || sp[0].Kind != WorkDownload || j.Count(WorkDownload) != 0 || j.Open(WorkDownload) != 1 {
		t.Fatalf("spans while reading = %+v, want one still open", sp)
	}
	if _, err := io.ReadAll(resp.Body); err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	resp.Body.Close() // a second close records nothing more
	sp := j.Spans()
	if len(sp) != 1 || !sp[0].End.After(sp[0].Start) || sp[0].Err || j.Count(WorkDownload) != 1 || j.Open(WorkDownload) != 0 {
		t.Fatalf("spans after close = %+v, want one closed", sp)
	}
	if _, err := c.Get("http://127.0.0.1:1/"); err == nil {
		t.Fatal("request to a closed port succeeded")
	}
	if sp := j.Spans(); len(sp) != 2 || !sp[1].Err {
		t.Fatalf("failed request not recorded as failed: %+v", sp)
	}
	srv.Client().CloseIdleConnections()
	c.CloseIdleConnections()
}
