package logship

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/cloudpillar/cloudpillar/hubsim/blob"
	"github.com/cloudpillar/cloudpillar/internal/leakcheck"
)

// TestUploadRetriesBlobEndpoint500AndTruncatedAnswers: a Put Block that
// fails with 500, and one whose answer breaks off after the block was
// stored, are sent again; the blob is complete and the re-sends counted
// (issue 6, faults).
func TestUploadRetriesBlobEndpoint500AndTruncatedAnswers(t *testing.T) {
	leakcheck.Check(t, 5*time.Second)
	h := newTestHub(t)
	dir := t.TempDir()
	want := noise(10, 400<<10)
	writeFile(t, dir, "carto.log", want)
	n := 0
	h.setFault(func(o string, w http.ResponseWriter, r *http.Request) bool {
		if o != hookBlock {
			return false
		}
		switch n++; n {
		case 2:
			http.Error(w, "boom", http.StatusInternalServerError)
			return true
		case 4:
			h.truncate(o, w, r)
			return true
		}
		return false
	})
	s, log := newShipper(t, h.config(t, dev, deviceLogs(dir)))
	run(t, s)
	id := s.Request(time.Time{}, time.Time{}, nil)
	st := log.finished(t, id, 30*time.Second)
	checkDelivered(t, h, dev, st, 1, want)
	if st["resentBlocks"] != 2 {
		t.Errorf("resentBlocks = %v, want 2 (one per fault)", st["resentBlocks"])
	}
	if !contains(log.history(id), StateRetrying) {
		t.Errorf("states %v never showed retrying", log.history(id))
	}
}

// TestDamagedBlockIsRefusedAndSentAgain: a block damaged on the way does
// not match the Content-MD5 the shipper sends with it, so the blob
// endpoint refuses it (400 Md5Mismatch, as Azure does) instead of storing
// it, and the shipper sends the block again: the blob is intact and the
// re-send counted.
func TestDamagedBlockIsRefusedAndSentAgain(t *testing.T) {
	leakcheck.Check(t, 5*time.Second)
	h := newTestHub(t)
	dir := t.TempDir()
	want := noise(12, 200<<10)
	writeFile(t, dir, "carto.log", want)
	var damaged atomic.Bool
	refused := make(chan string, 1)
	h.setFault(func(o string, w http.ResponseWriter, r *http.Request) bool {
		if o != hookBlock || !damaged.CompareAndSwap(false, true) {
			return false
		}
		r.Body = &damagedBody{ReadCloser: r.Body}
		h.serve(o, w, r)
		refused <- w.Header().Get("x-ms-error-code")
		return true
	})
	s, log := newShipper(t, h.config(t, dev, deviceLogs(dir)))
	run(t, s)
	st := log.finished(t, s.Request(time.Time{}, time.Time{}, nil), 30*time.Second)
	checkDelivered(t, h, dev, st, 1, want)
	select {
	case code := <-refused:
		if code != "Md5Mismatch" {
			t.Fatalf("the damaged block was answered %q, want Md5Mismatch", code)
		}
	default:
		t.Fatal("no block was damaged")
	}
	if st["resentBlocks"] != 1 {
		t.Errorf("resentBlocks = %v, want 1", st["resentBlocks"])
	}
}

// damagedBody flips the first byte of a request body.
type damagedBody struct {
	io.ReadCloser
	done bool
}

func (d *damagedBody) Read(p []byte) (int, error) {
	n, err := d.ReadCloser.Read(p)
	if n > 0 && !d.done {
		p[0] ^= 0xff
		d.done = true
	}
	return n, err
}

// TestUploadWaitsOutTooManyActiveUploads: the hub refuses the upload
// request with 403006 while the device has 10 uploads open; the job
// retries with backoff and completes once slots are free.
func TestUploadWaitsOutTooManyActiveUploads(t *testing.T) {
	leakcheck.Check(t, 5*time.Second)
	h := newTestHub(t)
	_, _, uploads := h.state()
	var held []string
	for i := range 10 {
		up, err := uploads.Start(dev, fmt.Sprintf("other-%d", i), time.Now())
		if err != nil {
			t.Fatal(err)
		}
		held = append(held, up.CorrelationID)
	}
	dir := t.TempDir()
	want := logText(11, 10<<10)
	writeFile(t, dir, "carto.log", want)
	s, log := newShipper(t, h.config(t, dev, deviceLogs(dir)))
	run(t, s)
	id := s.Request(time.Time{}, time.Time{}, nil)
	waitFor(t, 10*time.Second, "three refused upload requests", func() bool { return h.count(hookStart) >= 3 })
	if st := log.get(id); st["state"] != StateRetrying || !containsText(st["detail"], "DeviceMaximumActiveFileUploadLimitExceeded") {
		t.Fatalf("while refused: state %v, detail %v", st["state"], st["detail"])
	}
	for _, cid := range held {
		uploads.Complete(dev, cid, blob.Completion{}, time.Now())
	}
	st := log.finished(t, id, 30*time.Second)
	checkDelivered(t, h, dev, st, 1, want)
}

// TestUploadSendsALostNotificationAgain: a notification lost on the way is
// sent again; one whose answer was lost after the hub took it is sent
// under a new correlation id (the hub no longer knows the old one). The
// blob is complete either way and the hub has its notification.
func TestUploadSendsALostNotificationAgain(t *testing.T) {
	for _, tc := range []struct {
		name  string
		fault func(h *testHub, w http.ResponseWriter, r *http.Request)
	}{
		{"request lost", func(h *testHub, w http.ResponseWriter, r *http.Request) { drop(w) }},
		{"answer lost", func(h *testHub, w http.ResponseWriter, r *http.Request) { h.truncate(hookNotify, w, r) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			leakcheck.Check(t, 5*time.Second)
			h := newTestHub(t)
			dir := t.TempDir()
			want := logText(12, 20<<10)
			writeFile(t, dir, "carto.log", want)
			var once sync.Once
			h.setFault(func(o string, w http.ResponseWriter, r *http.Request) bool {
				hit := false
				if o == hookNotify {
					once.Do(func() { tc.fault(h, w, r); hit = true })
				}
				return hit
			})
			s, log := newShipper(t, h.config(t, dev, deviceLogs(dir)))
			run(t, s)
			st := log.finished(t, s.Request(time.Time{}, time.Time{}, nil), 30*time.Second)
			checkDelivered(t, h, dev, st, 1, want)
			if h.count(hookNotify) < 2 {
				t.Errorf("%d notifications sent, want a retry", h.count(hookNotify))
			}
		})
	}
}

// TestUploadRenewsAnExpiredSAS: when the SAS expires mid-upload (403), a
// new upload request for the same blob name continues with the blocks
// already staged (issue 6, resumable).
func TestUploadRenewsAnExpiredSAS(t *testing.T) {
	leakcheck.Check(t, 5*time.Second)
	h := newTestHub(t)
	dir := t.TempDir()
	want := noise(13, 400<<10)
	writeFile(t, dir, "carto.log", want)
	n := 0
	h.setFault(func(o string, w http.ResponseWriter, r *http.Request) bool {
		if o == hookBlock {
			if n++; n == 3 {
				h.offset.Store(int64(2 * time.Hour)) // the hub's clock passes the SAS expiry
			}
		}
		return false
	})
	s, log := newShipper(t, h.config(t, dev, deviceLogs(dir)))
	run(t, s)
	st := log.finished(t, s.Request(time.Time{}, time.Time{}, nil), 30*time.Second)
	checkDelivered(t, h, dev, st, 1, want)
	if h.count(hookStart) != 2 {
		t.Errorf("%d upload requests, want 2 (one renewal)", h.count(hookStart))
	}
	if st["resentBlocks"] != 1 {
		t.Errorf("resentBlocks = %v, want 1: only the block refused with 403", st["resentBlocks"])
	}
}

// TestUploadSurvivesAHubThatLostItsState: the hub restarts without its
// state after every block is staged: the SAS no longer verifies (new key),
// the staged blocks are gone. The upload renews its SAS, regenerates the
// lost blocks from their source offsets and commits a complete blob.
func TestUploadSurvivesAHubThatLostItsState(t *testing.T) {
	leakcheck.Check(t, 5*time.Second)
	h := newTestHub(t)
	dir := t.TempDir()
	want := append(logText(14, 200<<10), noise(14, 150<<10)...)
	writeFile(t, dir, "carto.log", want)
	var once sync.Once
	h.setFault(func(o string, w http.ResponseWriter, r *http.Request) bool {
		if o == hookCommit {
			once.Do(h.reset)
		}
		return false
	})
	s, log := newShipper(t, h.config(t, dev, deviceLogs(dir)))
	run(t, s)
	st := log.finished(t, s.Request(time.Time{}, time.Time{}, nil), 30*time.Second)
	checkDelivered(t, h, dev, st, 1, want)
	blocks := h.count(hookBlock) / 2
	if st["resentBlocks"] != blocks {
		t.Errorf("resentBlocks = %v, want every block once more (%d)", st["resentBlocks"], blocks)
	}
}

// TestUploadSurfacesAFullDisk: when the device's store cannot persist
// (disk full), the request or the upload fails with that reason instead
// of running without being resumable (issue 6).
func TestUploadSurfacesAFullDisk(t *testing.T) {
	leakcheck.Check(t, 5*time.Second)
	h := newTestHub(t)
	dir := t.TempDir()
	writeFile(t, dir, "carto.log", noise(15, 300<<10))
	store := &fullDisk{MemoryStore: NewMemoryStore(), left: -1}
	cfg := h.config(t, dev, deviceLogs(dir))
	cfg.Store = store
	s, log := newShipper(t, cfg)
	run(t, s)

	store.setFailAfter(0)
	st := log.get(s.Request(time.Time{}, time.Time{}, nil))
	if st["state"] != StateFailed || st["error"] != "device store failed: no space left on device" {
		t.Fatalf("request with a full disk: %v %q", st["state"], st["error"])
	}

	store.setFailAfter(5) // the job, its selection, the session, the SAS, then the disk fills
	st = log.finished(t, s.Request(time.Time{}, time.Time{}, nil), 30*time.Second)
	if st["state"] != StateFailed || file(st, 1)["error"] != "device store failed: no space left on device" {
		t.Fatalf("upload with a full disk: %v, file error %q", st["state"], file(st, 1)["error"])
	}
	if h.count(hookCommit) != 0 {
		t.Error("a block list was committed")
	}
}

type fullDisk struct {
	*MemoryStore
	mu   sync.Mutex
	left int // puts that still succeed; <0: unlimited
}

func (f *fullDisk) setFailAfter(n int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.left = n
}

func (f *fullDisk) PutUpload(id string, b []byte) error {
	f.mu.Lock()
	full := f.left == 0
	if f.left > 0 {
		f.left--
	}
	f.mu.Unlock()
	if full {
		return fmt.Errorf("outbox put upload: %w", syscall.ENOSPC)
	}
	return f.MemoryStore.PutUpload(id, b)
}

func contains(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}

func containsText(v any, sub string) bool {
	s, ok := v.(string)
	return ok && strings.Contains(s, sub)
}
