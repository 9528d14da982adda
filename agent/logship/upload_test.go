package logship

import (
	"bytes"
	"crypto/md5"
	"maps"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cloudpillar/cloudpillar/internal/leakcheck"
)

const dev = "carto-0001"

func deviceLogs(dir string) Source {
	return Source{Name: "device", Kind: KindDeviceLog, Root: dir, Patterns: []string{"*.log*"}}
}

// TestUploadDeliversCompleteVerifiedBlob: an on-demand upload of a log
// larger than several blocks arrives as one blob that decompresses to the
// original, with its SHA-256 reported, in its metadata and notified
// (REQ-LOG-001, PROTOCOL.md §3).
func TestUploadDeliversCompleteVerifiedBlob(t *testing.T) {
	leakcheck.Check(t, 5*time.Second)
	h := newTestHub(t)
	dir := t.TempDir()
	want := append(logText(1, 300<<10), noise(1, 200<<10)...) // text then incompressible: several blocks
	writeFile(t, dir, "carto.log", want)
	store := NewMemoryStore()
	cfg := h.config(t, dev, deviceLogs(dir))
	cfg.Store = store
	s, log := newShipper(t, cfg)
	run(t, s)
	id := s.Request(time.Time{}, time.Time{}, []string{"device"})
	st := log.finished(t, id, 30*time.Second)
	if st["state"] != StateDone {
		t.Fatalf("job %s: %v (%v)", id, st["state"], st["error"])
	}
	checkDelivered(t, h, dev, st, 1, want)
	if n := h.count(hookBlock); n < 3 {
		t.Errorf("%d Put Block requests, want several (block size 64 KiB)", n)
	}
	if st["sha256"] != file(st, 1)["sha256"] || st["files"] != 1 || st["filesDone"] != 1 {
		t.Errorf("job status %v", st)
	}
	if keys, _ := keysWith(store, keyPrefix+"up/"); len(keys) != 0 {
		t.Errorf("upload sessions left in the store: %v", keys)
	}
	if got := s.Stats(); got.Done != 1 || got.Files != 1 || got.Bytes != file(st, 1)["bytes"] {
		t.Errorf("Stats = %+v", got)
	}
}

// TestBlobCarriesDigestsAsMetadata: every Put Block carries the block's
// Content-MD5, and the committed blob keeps, as the blob store holds them,
// the SHA-256 of the uploaded (compressed) bytes as metadata sha256, the
// SHA-256 of the original as contentsha256, the source size, block count,
// source and kind, and the MD5 of the whole as its Content-MD5
// (REQ-LOG-001, PROTOCOL.md §3).
func TestBlobCarriesDigestsAsMetadata(t *testing.T) {
	leakcheck.Check(t, 5*time.Second)
	h := newTestHub(t)
	dir := t.TempDir()
	want := append(logText(3, 100<<10), noise(3, 150<<10)...)
	writeFile(t, dir, "carto.log", want)
	var blocks, withMD5 atomic.Int32
	h.setFault(func(o string, w http.ResponseWriter, r *http.Request) bool {
		if o == hookBlock {
			blocks.Add(1)
			if r.Header.Get("Content-MD5") != "" {
				withMD5.Add(1)
			}
		}
		return false
	})
	s, log := newShipper(t, h.config(t, dev, deviceLogs(dir)))
	run(t, s)
	st := log.finished(t, s.Request(time.Time{}, time.Time{}, nil), 30*time.Second)
	checkDelivered(t, h, dev, st, 1, want)
	name := file(st, 1)["name"].(string)
	b, p := h.blob(t, dev, name), h.props(t, dev, name)
	sum := md5.Sum(b)
	wantMeta := map[string]string{
		"sha256": hexSHA(b), "contentsha256": hexSHA(want), "sourcebytes": strconv.Itoa(len(want)),
		"blocks": strconv.Itoa(len(p.Blocks)), "source": "device", "kind": string(KindDeviceLog),
	}
	if !maps.Equal(p.Metadata, wantMeta) || !bytes.Equal(p.ContentMD5, sum[:]) {
		t.Fatalf("stored metadata %v, Content-MD5 %x; want %v, %x", p.Metadata, p.ContentMD5, wantMeta, sum)
	}
	if n := blocks.Load(); n < 3 || withMD5.Load() != n {
		t.Fatalf("%d of %d Put Block requests carried Content-MD5, want all of several", withMD5.Load(), n)
	}
}

// TestUploadRedactsTextLogsAndCountsIt: patient names, MRNs and dates of
// birth never leave the device in text logs; case exports are uploaded
// byte for byte (issue 6, privacy).
func TestUploadRedactsTextLogsAndCountsIt(t *testing.T) {
	leakcheck.Check(t, 5*time.Second)
	h := newTestHub(t)
	logs, cases := t.TempDir(), t.TempDir()
	text := "10:01 case start Patient: Jane Q Doe, room 4\n10:02 MRN: 12345678 loaded\n10:03 DOB:1961-02-03 checked\n10:04 ok\n"
	writeFile(t, logs, "carto.log", []byte(text))
	export := []byte("binary Patient: Jane MRN: 12345678\x00\x01")
	writeFile(t, cases, "case-17/map.bin", export)
	cfg := h.config(t, dev, deviceLogs(logs), Source{Name: "cases", Kind: KindCaseExport, Root: cases})
	s, log := newShipper(t, cfg)
	run(t, s)
	id := s.Request(time.Time{}, time.Time{}, nil)
	st := log.finished(t, id, 30*time.Second)
	want := "10:01 case start Patient: [REDACTED], room 4\n10:02 MRN:[REDACTED] loaded\n10:03 DOB:[REDACTED] checked\n10:04 ok\n"
	checkDelivered(t, h, dev, st, 1, []byte(want))
	checkDelivered(t, h, dev, st, 2, export)
	if st["redactions"] != 3 || file(st, 1)["redactions"] != 3 {
		t.Errorf("redactions = %v, want 3", st["redactions"])
	}
	if !strings.HasSuffix(file(st, 2)["name"].(string), "/cases/case-17/map.bin.gz") {
		t.Errorf("case blob name %v", file(st, 2)["name"])
	}
}

// TestUploadOfGrowingFileSendsTheSnapshot: a log the device keeps writing
// during the upload is uploaded up to its size when the upload started,
// and that size is reported (issue 6, bad input).
func TestUploadOfGrowingFileSendsTheSnapshot(t *testing.T) {
	leakcheck.Check(t, 5*time.Second)
	h := newTestHub(t)
	dir := t.TempDir()
	want := noise(2, 300<<10)
	path := writeFile(t, dir, "carto.log", want)
	h.setFault(func(o string, w http.ResponseWriter, r *http.Request) bool {
		if o == hookBlock {
			appendTo(t, path, logText(3, 50<<10))
		}
		return false
	})
	s, log := newShipper(t, h.config(t, dev, deviceLogs(dir)))
	run(t, s)
	st := log.finished(t, s.Request(time.Time{}, time.Time{}, nil), 30*time.Second)
	checkDelivered(t, h, dev, st, 1, want)
	if st["sourceBytes"] != int64(len(want)) {
		t.Errorf("sourceBytes = %v, want the snapshot %d", st["sourceBytes"], len(want))
	}
}

// TestUploadFollowsARotatedFile: the device rotates the log (rename, new
// file) mid-upload; the upload continues from the renamed file and
// delivers the original content.
func TestUploadFollowsARotatedFile(t *testing.T) {
	leakcheck.Check(t, 5*time.Second)
	h := newTestHub(t)
	dir := t.TempDir()
	want := noise(4, 300<<10)
	path := writeFile(t, dir, "carto.log", want)
	rotated := false
	h.setFault(func(o string, w http.ResponseWriter, r *http.Request) bool {
		if o == hookBlock && !rotated {
			rotated = true
			if err := os.Rename(path, path+".1"); err != nil {
				t.Error(err)
			}
			writeFile(t, dir, "carto.log", []byte("fresh log after rotation\n"))
		}
		return false
	})
	s, log := newShipper(t, h.config(t, dev, Source{Name: "device", Kind: KindDeviceLog, Root: dir, Patterns: []string{"carto.log"}}))
	run(t, s)
	st := log.finished(t, s.Request(time.Time{}, time.Time{}, nil), 30*time.Second)
	checkDelivered(t, h, dev, st, 1, want)
}

// TestUploadOfDeletedFileFailsClearly: a file deleted before its upload
// starts, and one deleted halfway, end as failures in the report; no
// partial blob is committed (issue 6).
func TestUploadOfDeletedFileFailsClearly(t *testing.T) {
	leakcheck.Check(t, 5*time.Second)
	h := newTestHub(t)
	dir := t.TempDir()
	first := writeFile(t, dir, "a.log", noise(5, 200<<10))
	second := writeFile(t, dir, "b.log", []byte("second\n"))
	past := time.Now().Add(-time.Hour)
	os.Chtimes(first, past, past) // a.log is older: uploaded first
	blocks := 0
	h.setFault(func(o string, w http.ResponseWriter, r *http.Request) bool {
		if o == hookBlock {
			if blocks++; blocks == 2 {
				os.Remove(first)
				os.Remove(second)
			}
		}
		return false
	})
	s, log := newShipper(t, h.config(t, dev, deviceLogs(dir)))
	run(t, s)
	st := log.finished(t, s.Request(time.Time{}, time.Time{}, nil), 30*time.Second)
	if st["state"] != StateFailed || st["filesFailed"] != 2 {
		t.Fatalf("job %v, %v files failed (%v)", st["state"], st["filesFailed"], st["error"])
	}
	for i := 1; i <= 2; i++ {
		if f := file(st, i); f["error"] != ErrSourceGone.Error() {
			t.Errorf("file %d error %q, want %q", i, f["error"], ErrSourceGone)
		}
	}
	if n := h.count(hookCommit); n != 0 {
		t.Errorf("%d block lists committed for deleted files", n)
	}
	if len(h.notifications()) != 0 {
		t.Errorf("success notifications for deleted files: %v", h.notifications())
	}
	if !strings.Contains(st["error"].(string), "2 of 2 files failed") {
		t.Errorf("job error %q", st["error"])
	}
}

// TestUploadOfUnreadableFileFailsClearly: a file the agent may not read
// fails with a reason that names no path.
func TestUploadOfUnreadableFileFailsClearly(t *testing.T) {
	leakcheck.Check(t, 5*time.Second)
	h := newTestHub(t)
	dir := t.TempDir()
	path := writeFile(t, dir, "Patient_Doe.log", []byte("x\n"))
	s, log := newShipper(t, h.config(t, dev, deviceLogs(dir)))
	s.open = func(p string) (*os.File, error) {
		if p == path {
			return nil, &os.PathError{Op: "open", Path: p, Err: os.ErrPermission}
		}
		return openShared(p)
	}
	run(t, s)
	st := log.finished(t, s.Request(time.Time{}, time.Time{}, nil), 30*time.Second)
	if f := file(st, 1); st["state"] != StateFailed || f["error"] != "source file cannot be read" {
		t.Fatalf("job %v, file error %q", st["state"], f["error"])
	}
	if strings.Contains(st["error"].(string), "Patient_Doe") {
		t.Errorf("error text names the file: %q", st["error"])
	}
}

// TestUploadOfEmptyFileIsAValidGzip: an empty log becomes an empty gzip
// member, not a zero-byte blob.
func TestUploadOfEmptyFileIsAValidGzip(t *testing.T) {
	leakcheck.Check(t, 5*time.Second)
	h := newTestHub(t)
	dir := t.TempDir()
	writeFile(t, dir, "empty.log", nil)
	s, log := newShipper(t, h.config(t, dev, deviceLogs(dir)))
	run(t, s)
	st := log.finished(t, s.Request(time.Time{}, time.Time{}, nil), 30*time.Second)
	checkDelivered(t, h, dev, st, 1, []byte{})
}

func appendTo(t testing.TB, path string, data []byte) {
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Error(err)
		return
	}
	defer f.Close()
	f.Write(data)
}

// TestUploadOfTruncatedFileFailsClearly: a log truncated in place during
// its upload (copytruncate rotation) fails; nothing is committed.
func TestUploadOfTruncatedFileFailsClearly(t *testing.T) {
	leakcheck.Check(t, 5*time.Second)
	h := newTestHub(t)
	dir := t.TempDir()
	path := writeFile(t, dir, "carto.log", noise(6, 300<<10))
	h.setFault(func(o string, w http.ResponseWriter, r *http.Request) bool {
		if o == hookBlock {
			os.Truncate(path, 10)
		}
		return false
	})
	s, log := newShipper(t, h.config(t, dev, deviceLogs(dir)))
	run(t, s)
	st := log.finished(t, s.Request(time.Time{}, time.Time{}, nil), 30*time.Second)
	if f := file(st, 1); st["state"] != StateFailed || f["error"] != ErrSourceTruncated.Error() {
		t.Fatalf("job %v, file error %q", st["state"], f["error"])
	}
	if h.count(hookCommit) != 0 || len(h.notifications()) != 0 {
		t.Error("a truncated file was committed")
	}
}
