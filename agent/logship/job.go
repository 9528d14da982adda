package logship

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"time"
)

// Job states, as reported in logUploads.<jobId>.state.
const (
	StateQueued    = "queued"    // accepted, not started
	StateWaiting   = "waiting"   // held by the patient-first guard (detail says why)
	StateUploading = "uploading" // blocks going out
	StateRetrying  = "retrying"  // a step failed; retrying after a backoff (detail says why)
	StateDone      = "done"      // every selected file is a complete, verified blob
	StateFailed    = "failed"    // at least one file failed (error says why); the others are listed
)

// File states in a job's blobs.
const (
	filePending  = "pending"
	fileDone     = "done"
	fileFailed   = "failed"
	fileRejected = "rejected" // outside the configured folder: never read
)

// maxListed is how many files a job's status lists: a job reports about
// 3 KB, within the twin's 32 KB of reported properties.
const maxListed = 8

// job is one upload request and its outcome, persisted under jobKey.
type job struct {
	ID       string       `json:"id"`
	Reason   string       `json:"reason"` // request, schedule, or "error: <event>"
	From     time.Time    `json:"from,omitzero"`
	To       time.Time    `json:"to,omitzero"`
	Sources  []string     `json:"sources,omitempty"`
	Created  time.Time    `json:"created"`
	Finished time.Time    `json:"finished,omitzero"`
	Selected bool         `json:"selected"`
	State    string       `json:"state"`
	Detail   string       `json:"detail,omitempty"`
	Error    string       `json:"error,omitempty"`
	Files    []fileResult `json:"files,omitempty"`
}

// fileResult is one file of a job.
type fileResult struct {
	Source        string `json:"source"`
	Kind          Kind   `json:"kind"`
	Rel           string `json:"rel"`
	Path          string `json:"path,omitempty"` // never reported
	Blob          string `json:"blob"`           // name asked of the hub
	State         string `json:"state"`
	Bytes         int64  `json:"bytes"`       // compressed bytes staged or committed
	SourceBytes   int64  `json:"sourceBytes"` // the size snapshot: exactly these bytes are uploaded
	SHA256        string `json:"sha256,omitempty"`
	ContentSHA256 string `json:"contentSha256,omitempty"`
	Redactions    int    `json:"redactions,omitempty"`
	Resent        int    `json:"resent,omitempty"`
	Error         string `json:"error,omitempty"`
}

func (j *job) finished() bool { return j.State == StateDone || j.State == StateFailed }

// newJobID is unique across restarts: the time and 32 random bits. It is
// safe as a twin key and a blob name segment.
func newJobID(now time.Time) string {
	var b [4]byte
	rand.Read(b[:]) // never fails (crypto/rand, Go 1.24+)
	return "lu-" + now.UTC().Format("20060102T150405Z") + "-" + hex.EncodeToString(b[:])
}

// status is the job as reported in the twin (logUploads.<jobId>): every
// key always present, so a later patch overwrites an earlier value.
func (j *job) status() map[string]any {
	var done, failed, rejected, redactions, resent int
	var bytes, srcBytes int64
	blobs := map[string]any{}
	for i, f := range j.Files {
		switch f.State {
		case fileDone:
			done++
		case fileFailed:
			failed++
		case fileRejected:
			rejected++
		}
		bytes += f.Bytes
		srcBytes += f.SourceBytes
		redactions += f.Redactions
		resent += f.Resent
		if i < maxListed {
			blobs[strconv.Itoa(i+1)] = f.status()
		}
	}
	return map[string]any{
		"state": j.State, "detail": j.Detail, "error": j.Error, "reason": j.Reason,
		"created": j.Created.UTC().Format(time.RFC3339), "finished": timeOrEmpty(j.Finished),
		"files": len(j.Files) - rejected, "filesDone": done, "filesFailed": failed, "filesRejected": rejected,
		"bytes": bytes, "sourceBytes": srcBytes, "sha256": j.digest(), "redactions": redactions,
		"resentBlocks": resent, "blobs": blobs,
	}
}

func (f fileResult) status() map[string]any {
	return map[string]any{
		"name": f.Blob, "source": f.Source, "state": f.State, "bytes": f.Bytes, "sourceBytes": f.SourceBytes,
		"sha256": f.SHA256, "contentSha256": f.ContentSHA256, "redactions": f.Redactions,
		"resentBlocks": f.Resent, "error": clip(f.Error, 100), // the job's error carries the first in full
	}
}

func timeOrEmpty(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

// digest is the job's sha256: the blob's own when the job uploaded one
// file, else the SHA-256 of a sha256sum-style manifest ("<sha256>  <blob>\n"
// per uploaded file, sorted by blob name). Empty until a file is done.
func (j *job) digest() string {
	var lines []string
	for _, f := range j.Files {
		if f.State == fileDone {
			lines = append(lines, f.SHA256+"  "+f.Blob+"\n")
		}
	}
	switch len(lines) {
	case 0:
		return ""
	case 1:
		if len(j.Files) == 1 {
			return j.Files[0].SHA256
		}
	}
	sort.Strings(lines)
	h := sha256.New()
	for _, l := range lines {
		h.Write([]byte(l))
	}
	return hex.EncodeToString(h.Sum(nil))
}

// put persists j.
func (j *job) put(st SessionStore) error {
	b, err := json.Marshal(j)
	if err == nil {
		err = st.PutUpload(jobKey(j.ID), b)
	}
	if err != nil {
		return fmt.Errorf("%w: job %s: %w", errStore, j.ID, err)
	}
	return nil
}

// loadJobs reads every persisted job, oldest first.
func loadJobs(st SessionStore) ([]*job, error) {
	keys, err := keysWith(st, jobKeyPrefix)
	if err != nil {
		return nil, fmt.Errorf("list jobs: %w", err)
	}
	var out []*job
	for _, k := range keys {
		b, ok, err := st.GetUpload(k)
		if err != nil {
			return nil, fmt.Errorf("read job %s: %w", k, err)
		}
		var j job
		if !ok || json.Unmarshal(b, &j) != nil || j.ID == "" {
			continue // unreadable record: skipped, never fatal
		}
		out = append(out, &j)
	}
	sort.SliceStable(out, func(a, b int) bool { return out[a].Created.Before(out[b].Created) })
	return out, nil
}
