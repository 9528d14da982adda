package logship

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// Conditions an upload ends in or retries on.
var (
	// ErrSourceGone: the file was deleted (and not rotated to a sibling)
	// before its upload finished.
	ErrSourceGone = errors.New("source file no longer exists")
	// ErrSourceTruncated: the file became shorter than the size snapshot
	// taken when its upload started (truncated or rewritten).
	ErrSourceTruncated = errors.New("source file shrank below its size when the upload started")
	// ErrOutsideRoot: a path (or the target of a symlink) lies outside the
	// source's configured folder.
	ErrOutsideRoot = errors.New("path lies outside the configured folder")
	// ErrUnknownSource: a request named a source that is not configured.
	ErrUnknownSource = errors.New("unknown log source")
	// ErrPaused: a case started; the block in flight was abandoned and
	// will be sent again after the quiet period.
	ErrPaused = errors.New("upload paused for a patient case")
	// ErrGaveUp: an upload kept failing for Config.GiveUpAfter.
	ErrGaveUp = errors.New("upload kept failing, gave up")
)

// StatusError is an error answer from the hub or the blob endpoint: the
// HTTP status and the service's error name (iothub-errorcode or
// x-ms-error-code), with a clipped message.
type StatusError struct {
	Op      string // "upload request", "put block", "put block list", "notification"
	Status  int
	Code    string // e.g. DeviceMaximumActiveFileUploadLimitExceeded, AuthenticationFailed
	Message string
}

func (e *StatusError) Error() string {
	s := fmt.Sprintf("%s: %d %s", e.Op, e.Status, http.StatusText(e.Status))
	if e.Code != "" {
		s += " (" + e.Code + ")"
	}
	if e.Message != "" {
		s += ": " + e.Message
	}
	return s
}

// tooManyUploads reports the hub's 403006: the device has the maximum
// number of uploads open (PROTOCOL.md §3). Retried after a backoff.
func (e *StatusError) tooManyUploads() bool {
	return e.Status == http.StatusForbidden &&
		(e.Code == "DeviceMaximumActiveFileUploadLimitExceeded" || strings.Contains(e.Message, "403006") ||
			strings.Contains(e.Message, "DeviceMaximumActiveFileUploadLimitExceeded"))
}

// action is what the upload loop does after an error.
type action int

const (
	actRetry  action = iota + 1 // back off and try the same step again
	actRenew                    // get a new SAS URI for the same blob, then retry
	actFail                     // the file's upload fails now
	actPause                    // a case started: wait for the guard, then retry without counting a failure
	actReopen                   // the hub lost the correlation id: open a new one (notification)
	actRepair                   // the block list did not commit: re-stage missing blocks
)

// classify decides what to do about err from one step of op.
func classify(err error) action {
	var se *StatusError
	switch {
	case errors.Is(err, ErrPaused):
		return actPause
	case errors.Is(err, ErrSourceGone), errors.Is(err, ErrSourceTruncated), errors.Is(err, ErrOutsideRoot),
		errors.Is(err, errStore), errors.Is(err, errRead):
		return actFail
	case !errors.As(err, &se):
		return actRetry // network errors, timeouts, truncated responses
	}
	switch {
	case se.Status >= 500, se.Status == http.StatusTooManyRequests, se.Status == http.StatusRequestTimeout,
		se.Status == http.StatusUnauthorized: // 401: a renewed certificate may cure it; backoff, no tight loop
		return actRetry
	case se.tooManyUploads():
		return actRetry
	case se.Op == opNotify && (se.Status == http.StatusBadRequest || se.Status == http.StatusNotFound):
		return actReopen
	case se.Op == opBlock && (se.Code == "Md5Mismatch" || se.Code == "Crc64Mismatch"):
		return actRetry // the block arrived damaged and was not stored: send it again
	case se.Op == opCommit && se.Code == "InvalidBlockList":
		return actRepair
	case se.Op != opStart && se.Op != opNotify && se.Status == http.StatusForbidden:
		return actRenew // expired or unknown SAS (hub restarted with a new key)
	case se.Op != opStart && se.Op != opNotify && se.Status == http.StatusNotFound:
		return actRenew // container gone after a hub reset: a new upload request recreates it
	}
	return actFail
}

// Operations named in StatusError.Op.
const (
	opStart  = "upload request"
	opBlock  = "put block"
	opCommit = "put block list"
	opList   = "get block list"
	opNotify = "notification"
)

// errStore marks a failure to persist a job or an upload session (disk
// full, say): the upload stops rather than continue without being
// resumable.
var errStore = errors.New("device store failed")

// errRead marks a source file that exists but cannot be read.
var errRead = errors.New("read source file")

// floorAfter is the least wait before retrying err: the hub's throttling
// answers get a floor so a fleet never hammers it (DESIGN.md decision 14).
func floorAfter(err error, throttleFloor, authFloor time.Duration) time.Duration {
	var se *StatusError
	if !errors.As(err, &se) {
		return 0
	}
	switch {
	case se.tooManyUploads(), se.Status == http.StatusTooManyRequests:
		return throttleFloor
	case se.Status == http.StatusUnauthorized:
		return authFloor
	}
	return 0
}
