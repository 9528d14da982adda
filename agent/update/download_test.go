package update_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"strings"
	"testing"
	"time"

	agentdevice "github.com/cloudpillar/cloudpillar/agent/device"
	"github.com/cloudpillar/cloudpillar/agent/guard"
	"github.com/cloudpillar/cloudpillar/agent/update"
	"github.com/cloudpillar/cloudpillar/agent/update/updatetest"
	"github.com/cloudpillar/cloudpillar/devsim/updatesrv"
	"github.com/cloudpillar/cloudpillar/internal/leakcheck"
	"github.com/cloudpillar/cloudpillar/internal/testclock"
)

// payload is n seeded pseudo-random bytes.
func payload(n int) []byte {
	r := rand.New(rand.NewPCG(uint64(n), 7))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

// dlRig is a downloader against an update server, with its store file.
type dlRig struct {
	srv   *updatesrv.Server
	clk   *testclock.Clock
	gate  *guard.Gate
	path  string // store file
	dir   string // download directory
	notes *notices
}

func newDLRig(t *testing.T) *dlRig {
	t.Helper()
	leakcheck.Check(t, 5*time.Second)
	srv := updatesrv.New()
	t.Cleanup(srv.Close)
	clk := testclock.New(now)
	return &dlRig{srv: srv, clk: clk, gate: idleGate(clk), path: storePath(t), dir: t.TempDir(), notes: &notices{}}
}

// downloader opens the store (a fresh process) and returns a downloader;
// tune adjusts its config.
func (r *dlRig) downloader(t *testing.T, tune func(*update.DownloadConfig)) (*update.Downloader, func()) {
	t.Helper()
	st, closeStore := openRecords(t, r.path)
	cfg := update.DownloadConfig{
		Dir: r.dir, Progress: update.NewRecordStore(st), Gate: r.gate, Client: r.srv.Client(),
		CheckpointBytes: 8 << 10, RetryBase: 10 * time.Millisecond, Notice: r.notes.note,
	}
	if tune != nil {
		tune(&cfg)
	}
	d, err := update.NewDownloader(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return d, closeStore
}

func (r *dlRig) fetch(t *testing.T, d *update.Downloader, entry update.FileEntry) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	return d.Fetch(ctx, entry, r.srv.URL()+"/"+entry.Name)
}

func wantReason(t *testing.T, err error, r update.Reason) {
	t.Helper()
	if !errors.Is(err, r) {
		t.Fatalf("err = %v, want reason %s", err, r)
	}
}

func checkFile(t *testing.T, path string, want []byte) {
	t.Helper()
	got, err := os.ReadFile(path)
	if err != nil || !bytes.Equal(got, want) {
		t.Fatalf("downloaded file %s: %d bytes (err %v), want the %d published bytes", path, len(got), err, len(want))
	}
}

func TestDownloadVerifiesAndStoresTheFile(t *testing.T) {
	r := newDLRig(t)
	content := payload(100 << 10)
	entry := r.srv.Publish("rootfs.img", content)
	d, _ := r.downloader(t, nil)
	path, err := r.fetch(t, d, entry)
	if err != nil {
		t.Fatalf("Fetch = %v", err)
	}
	checkFile(t, path, content)
	if _, err := os.Stat(path + ".part"); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("partial file left behind: %v", err)
	}
}

// TestDownloadTamperedPayloadIsRejected: wrong bytes of the right length
// fail the hash check and nothing is kept (issue 5: tampered file).
func TestDownloadTamperedPayloadIsRejected(t *testing.T) {
	r := newDLRig(t)
	entry := r.srv.Publish("rootfs.img", payload(64<<10))
	r.srv.SetFault("rootfs.img", updatesrv.Fault{Corrupt: true})
	d, _ := r.downloader(t, nil)
	_, err := r.fetch(t, d, entry)
	wantReason(t, err, update.ReasonFileHash)
	entries, _ := os.ReadDir(r.dir)
	if len(entries) != 0 {
		t.Errorf("download directory keeps %d entries after a tampered file, want none", len(entries))
	}
}

// TestDownloadIsCutOffAtTheDeclaredSize: an endless stream and a file
// longer than the manifest says are both stopped at the declared size
// (TUF: endless data).
func TestDownloadIsCutOffAtTheDeclaredSize(t *testing.T) {
	r := newDLRig(t)
	content := payload(32 << 10)
	entry := r.srv.Publish("endless.img", content)
	r.srv.SetFault("endless.img", updatesrv.Fault{Endless: true})
	d, _ := r.downloader(t, nil)
	_, err := r.fetch(t, d, entry)
	wantReason(t, err, update.ReasonFileSize)
	eventually(t, 5*time.Second, "server stops streaming", func() error {
		if n := len(r.srv.Requests()); n != 1 {
			return fmt.Errorf("%d requests finished", n)
		}
		return nil
	})
	if sent := r.srv.BytesSent(); sent > 8<<20 {
		t.Errorf("server sent %d bytes of an endless stream before the client stopped", sent)
	}

	long := r.srv.Publish("long.img", payload(64<<10))
	long = updatetest.File(long.Name, content[:16<<10]) // the manifest declares less than the server has
	_, err = r.fetch(t, d, long)
	wantReason(t, err, update.ReasonFileSize)
}

// TestDownloadAbortsASlowServer: a server trickling below the minimum rate
// is cut off (slow retrieval).
func TestDownloadAbortsASlowServer(t *testing.T) {
	r := newDLRig(t)
	entry := r.srv.Publish("rootfs.img", payload(256<<10))
	r.srv.SetFault("rootfs.img", updatesrv.Fault{BytesPerSecond: 2 << 10})
	d, _ := r.downloader(t, func(c *update.DownloadConfig) {
		c.MinRate, c.RateWindow = 32<<10, 200*time.Millisecond
	})
	start := time.Now()
	_, err := r.fetch(t, d, entry)
	wantReason(t, err, update.ReasonSlowDownload)
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("slow server detected after %v", took)
	}
}

// TestDownloadResumesWithRangeAfterRestart: a body cut off mid-way leaves
// a progress record; a new process resumes from it with a Range request
// instead of starting over.
func TestDownloadResumesWithRangeAfterRestart(t *testing.T) {
	r := newDLRig(t)
	content := payload(256 << 10)
	entry := r.srv.Publish("rootfs.img", content)
	r.srv.SetFault("rootfs.img", updatesrv.Fault{Truncate: true, TruncateAfter: 100 << 10, Times: 1})
	d, closeStore := r.downloader(t, func(c *update.DownloadConfig) { c.MaxAttempts = 1 })
	_, err := r.fetch(t, d, entry)
	wantReason(t, err, update.ReasonDownload)
	closeStore() // the process ends

	d, _ = r.downloader(t, nil) // a new process on the same files
	path, err := r.fetch(t, d, entry)
	if err != nil {
		t.Fatalf("resumed Fetch = %v", err)
	}
	checkFile(t, path, content)
	reqs := r.srv.Requests()
	if len(reqs) != 2 || reqs[0].Range != "" || !strings.HasPrefix(reqs[1].Range, "bytes=") || reqs[1].Status != 206 {
		t.Fatalf("requests = %+v, want a plain GET then a 206 Range request", reqs)
	}
	var from int64
	fmt.Sscanf(reqs[1].Range, "bytes=%d-", &from)
	if from < 64<<10 || from > 100<<10 {
		t.Errorf("resumed from byte %d, want near the 100 KiB cut", from)
	}
	if total := reqs[0].Sent + reqs[1].Sent; total > int64(len(content))+(8<<10) {
		t.Errorf("%d bytes fetched for a %d-byte file", total, len(content))
	}
}

// TestDownloadRetriesAfterServerErrors: 500 twice, then the file.
func TestDownloadRetriesAfterServerErrors(t *testing.T) {
	r := newDLRig(t)
	content := payload(40 << 10)
	entry := r.srv.Publish("rootfs.img", content)
	r.srv.SetFault("rootfs.img", updatesrv.Fault{Status: 500, Times: 2})
	d, _ := r.downloader(t, nil)
	path, err := r.fetch(t, d, entry)
	if err != nil {
		t.Fatalf("Fetch = %v", err)
	}
	checkFile(t, path, content)
	var codes []int
	for _, q := range r.srv.Requests() {
		codes = append(codes, q.Status)
	}
	if fmt.Sprint(codes) != "[500 500 200]" {
		t.Errorf("statuses = %v, want [500 500 200]", codes)
	}
}

// TestDownloadStartsOverWhenTheServerIgnoresRange: a 200 answer to a
// Range request restarts the file and its hash from byte 0.
func TestDownloadStartsOverWhenTheServerIgnoresRange(t *testing.T) {
	r := newDLRig(t)
	content := payload(128 << 10)
	entry := r.srv.Publish("rootfs.img", content)
	r.srv.SetFault("rootfs.img", updatesrv.Fault{Truncate: true, TruncateAfter: 50 << 10, Times: 1})
	d, _ := r.downloader(t, func(c *update.DownloadConfig) { c.MaxAttempts = 1 })
	_, err := r.fetch(t, d, entry)
	wantReason(t, err, update.ReasonDownload)
	r.srv.SetFault("rootfs.img", updatesrv.Fault{IgnoreRange: true})
	path, err := r.fetch(t, d, entry)
	if err != nil {
		t.Fatalf("Fetch = %v", err)
	}
	checkFile(t, path, content)
	reqs := r.srv.Requests()
	if len(reqs) != 2 || reqs[1].Range == "" || reqs[1].Status != 200 || reqs[1].Sent != int64(len(content)) {
		t.Errorf("requests = %+v, want a Range request answered with the whole file", reqs)
	}
}

// TestDownloadPausesWithinASecondWhenACaseStarts: a case starting stops
// the transfer within one second (real time); after the case and the
// quiet period (test clock) it resumes with a Range request.
func TestDownloadPausesWithinASecondWhenACaseStarts(t *testing.T) {
	r := newDLRig(t)
	g := r.gate
	content := payload(1 << 20)
	entry := r.srv.Publish("rootfs.img", content)
	r.srv.SetFault("rootfs.img", updatesrv.Fault{BytesPerSecond: 128 << 10, Times: 1})
	d, _ := r.downloader(t, nil)
	type result struct {
		path string
		err  error
	}
	done := make(chan result, 1)
	go func() {
		p, err := r.fetch(t, d, entry)
		done <- result{p, err}
	}()
	eventually(t, 10*time.Second, "transfer under way", func() error {
		if n := r.srv.BytesSent(); n < 32<<10 {
			return fmt.Errorf("%d bytes sent", n)
		}
		return nil
	})
	caseStart := time.Now()
	g.Observe(agentdevice.CaseLive)
	eventually(t, 2*time.Second, "transfer stops", func() error {
		if len(r.srv.Requests()) == 0 {
			return errors.New("request still open")
		}
		return nil
	})
	if took := time.Since(caseStart); took > time.Second {
		t.Fatalf("transfer stopped %v after the case started, want within 1 s", took)
	}
	sent := r.srv.BytesSent()
	throughout(t, 300*time.Millisecond, "no download during the case", func() error {
		if n, q := r.srv.BytesSent(), len(r.srv.Requests()); n != sent || q != 1 {
			return fmt.Errorf("%d bytes in %d requests, had %d in 1", n, q, sent)
		}
		return nil
	})
	g.Observe(agentdevice.CaseIdle) // case over: the quiet period must pass first
	throughout(t, 300*time.Millisecond, "no download in the quiet period", func() error {
		if q := len(r.srv.Requests()); q != 1 {
			return fmt.Errorf("%d requests", q)
		}
		return nil
	})
	passQuiet(r.clk, g)
	res := <-done
	if res.err != nil {
		t.Fatalf("Fetch = %v", res.err)
	}
	checkFile(t, res.path, content)
	reqs := r.srv.Requests()
	if len(reqs) != 2 || !strings.HasPrefix(reqs[1].Range, "bytes=") {
		t.Errorf("requests = %+v, want the resume to be a Range request", reqs)
	}
	want := []string{"download: patient case live", "download: quiet period after case", "download: go"}
	if got := r.notes.list(); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("notices = %q, want %q", got, want)
	}
}

// BenchmarkFetch measures a resumable, hashed, checkpointed download of
// 8 MiB over loopback (default checkpoints on a real store).
func BenchmarkFetch(b *testing.B) {
	srv := updatesrv.New()
	defer srv.Close()
	content := payload(8 << 20)
	entry := srv.Publish("rootfs.img", content)
	clk := testclock.New(now)
	st, closeStore := openRecords(b, storePath(b))
	defer closeStore()
	d, err := update.NewDownloader(update.DownloadConfig{Dir: b.TempDir(), Progress: update.NewRecordStore(st),
		Gate: idleGate(clk), Client: srv.Client()})
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(content)))
	for b.Loop() {
		if _, err := d.Fetch(context.Background(), entry, srv.URL()+"/rootfs.img"); err != nil {
			b.Fatal(err)
		}
		if err := d.Discard(entry); err != nil {
			b.Fatal(err)
		}
	}
}
