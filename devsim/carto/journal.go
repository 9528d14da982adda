package carto

import (
	"context"
	"io"
	"net/http"
	"sync"
	"time"

	"github.com/cloudpillar/cloudpillar/agent/update"
)

// WorkKind names one kind of update work on a device.
type WorkKind string

// Kinds of update work a Journal records. Download and install are
// pausable (the agent stops them within a second of a case starting); the
// others are single steps that must not start during a case at all.
const (
	WorkDownload    WorkKind = "download"    // one HTTP request, until its body is closed
	WorkInstall     WorkKind = "install"     // InstallToInactive
	WorkActivate    WorkKind = "activate"    // Activate (the slot switch: a reboot on hardware)
	WorkHealthCheck WorkKind = "healthCheck" // HealthCheck
	WorkCommit      WorkKind = "commit"      // Commit
	WorkRollback    WorkKind = "rollback"    // Rollback
)

// Pausable reports whether the agent may let work of kind k run up to the
// floor's one second into a case before it stops (DESIGN.md decision 6).
func (k WorkKind) Pausable() bool { return k == WorkDownload || k == WorkInstall }

// Span is one piece of update work: when it started and ended. End is zero
// while the work runs.
type Span struct {
	Kind       WorkKind
	Start, End time.Time
	Err        bool // the work failed (or, for a download, the request did)
}

// Journal records, on the harness's clock, when update work ran on one
// virtual device: each installer step (Installer) and each payload request
// (Transport). The scenario judge compares it with the device's patient
// cases. Safe for concurrent use.
type Journal struct {
	now func() time.Time

	mu    sync.Mutex
	spans []Span // guarded by mu
}

// NewJournal returns an empty journal on the clock now (nil: time.Now).
func NewJournal(now func() time.Time) *Journal {
	if now == nil {
		now = time.Now
	}
	return &Journal{now: now}
}

// Begin records the start of work of kind k and returns the function that
// records its end (calling it again does nothing).
func (j *Journal) Begin(k WorkKind) (end func(err error)) {
	j.mu.Lock()
	i := len(j.spans)
	j.spans = append(j.spans, Span{Kind: k, Start: j.now()})
	j.mu.Unlock()
	var once sync.Once
	return func(err error) {
		once.Do(func() {
			j.mu.Lock()
			defer j.mu.Unlock()
			j.spans[i].End, j.spans[i].Err = j.now(), err != nil
		})
	}
}

// Spans returns the recorded work, oldest first; work still running ends
// now in the copy.
func (j *Journal) Spans() []Span {
	now := j.now()
	j.mu.Lock()
	defer j.mu.Unlock()
	out := append([]Span(nil), j.spans...)
	for i := range out {
		if out[i].End.IsZero() {
			out[i].End = now
		}
	}
	return out
}

// Count is how many spans of kind k ended without error.
func (j *Journal) Count(k WorkKind) int {
	j.mu.Lock()
	defer j.mu.Unlock()
	n := 0
	for _, s := range j.spans {
		if s.Kind == k && !s.End.IsZero() && !s.Err {
			n++
		}
	}
	return n
}

// Open is how many spans of kind k have not ended yet.
func (j *Journal) Open(k WorkKind) int {
	j.mu.Lock()
	defer j.mu.Unlock()
	n := 0
	for _, s := range j.spans {
		if s.Kind == k && s.End.IsZero() {
			n++
		}
	}
	return n
}

// Installer wraps in so that every step it performs is recorded.
func (j *Journal) Installer(in update.Installer) update.Installer {
	return &journaledInstaller{in: in, j: j}
}

type journaledInstaller struct {
	in update.Installer
	j  *Journal
}

var _ update.Installer = (*journaledInstaller)(nil)

func (w *journaledInstaller) InstallToInactive(ctx context.Context, id update.UpdateID, files []update.StagedFile) error {
	return w.do(WorkInstall, func() error { return w.in.InstallToInactive(ctx, id, files) })
}

func (w *journaledInstaller) Activate(ctx context.Context) error {
	return w.do(WorkActivate, func() error { return w.in.Activate(ctx) })
}

func (w *journaledInstaller) HealthCheck(ctx context.Context) error {
	return w.do(WorkHealthCheck, func() error { return w.in.HealthCheck(ctx) })
}

func (w *journaledInstaller) Commit() error   { return w.do(WorkCommit, w.in.Commit) }
func (w *journaledInstaller) Rollback() error { return w.do(WorkRollback, w.in.Rollback) }

func (w *journaledInstaller) ActiveSlot() string { return w.in.ActiveSlot() }

func (w *journaledInstaller) do(k WorkKind, step func() error) error {
	end := w.j.Begin(k)
	err := step()
	end(err)
	return err
}

// Transport wraps rt (nil: http.DefaultTransport) so that every request
// is recorded as download work from the moment it is sent until its
// response body is closed (or the request fails).
func (j *Journal) Transport(rt http.RoundTripper) http.RoundTripper {
	if rt == nil {
		rt = http.DefaultTransport
	}
	return &journaledTransport{rt: rt, j: j}
}

type journaledTransport struct {
	rt http.RoundTripper
	j  *Journal
}

func (t *journaledTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	end := t.j.Begin(WorkDownload)
	resp, err := t.rt.RoundTrip(req)
	if err != nil {
		end(err)
		return nil, err
	}
	resp.Body = &journaledBody{ReadCloser: resp.Body, end: end}
	return resp, nil
}

// journaledBody ends its span when closed: the agent's downloader closes
// every body it opens, including when it stops early.
type journaledBody struct {
	io.ReadCloser
	end func(error)
}

func (b *journaledBody) Close() error {
	err := b.ReadCloser.Close()
	b.end(nil)
	return err
}
