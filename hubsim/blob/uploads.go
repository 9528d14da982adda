package blob

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"maps"
	"net/url"
	"strings"
	"sync"
	"time"
)

// Defaults of UploadsConfig (PROTOCOL.md §3).
const (
	DefaultContainer   = "fileupload"
	DefaultSASLifetime = time.Hour
	DefaultMaxActive   = 10
)

// Errors of the file-upload protocol; the service maps them to IoT Hub's
// codes (403006, 400015).
var (
	ErrTooManyUploads     = errors.New("number of active file upload requests cannot exceed the limit")
	ErrUnknownCorrelation = errors.New("unknown or expired file upload correlation id")
	ErrBadBlobName        = errors.New("invalid blob name")
)

// UploadsConfig describes the file-upload side of a hub.
type UploadsConfig struct {
	// Host is the host:port devices reach the blob endpoint on (the hub's
	// own HTTPS address under its host name).
	Host string
	// Container holds every upload; default DefaultContainer.
	Container string
	// SASLifetime is how long an upload's SAS (and its slot) lasts.
	SASLifetime time.Duration
	// MaxActive is the per-device limit of uploads not yet notified.
	MaxActive int
}

// Upload is the answer to a device's POST /devices/{id}/files.
type Upload struct {
	CorrelationID string `json:"correlationId"`
	HostName      string `json:"hostName"`
	ContainerName string `json:"containerName"`
	BlobName      string `json:"blobName"`
	SASToken      string `json:"sasToken"` // starts with '?'
}

// Completion is a device's upload notification.
type Completion struct {
	IsSuccess         bool   `json:"isSuccess"`
	StatusCode        int    `json:"statusCode"`
	StatusDescription string `json:"statusDescription"`
}

// Notification is the service-side file notification for a successful
// upload (PROTOCOL.md §3).
type Notification struct {
	DeviceID        string    `json:"deviceId"`
	BlobURI         string    `json:"blobUri"`
	BlobName        string    `json:"blobName"`
	LastUpdatedTime time.Time `json:"lastUpdatedTime"`
	BlobSizeInBytes int64     `json:"blobSizeInBytes"`
	EnqueuedTimeUTC time.Time `json:"enqueuedTimeUtc"`
	// Metadata is the blob's metadata (Props.Metadata) when the device
	// reported success: hubsim's record for the harness, not part of IoT
	// Hub's notification, so not in its JSON.
	Metadata map[string]string `json:"-"`
}

// Uploads tracks file-upload sessions and records notifications. Safe for
// concurrent use.
type Uploads struct {
	cfg UploadsConfig
	srv *Server

	mu       sync.Mutex
	sessions map[string]session // correlation ID -> session; guarded by mu
	notes    []Notification     // guarded by mu
}

// session is one upload a device started and has not yet notified.
type session struct {
	deviceID, blobName string
	expires            time.Time
}

// NewUploads issues SAS URIs for srv's blobs.
func NewUploads(srv *Server, cfg UploadsConfig) *Uploads {
	if cfg.Container == "" {
		cfg.Container = DefaultContainer
	}
	if cfg.SASLifetime <= 0 {
		cfg.SASLifetime = DefaultSASLifetime
	}
	if cfg.MaxActive <= 0 {
		cfg.MaxActive = DefaultMaxActive
	}
	return &Uploads{cfg: cfg, srv: srv, sessions: map[string]session{}}
}

// Container is the container uploads go to.
func (u *Uploads) Container() string { return u.cfg.Container }

// Start opens an upload of name for deviceID: blob `{deviceId}/{name}`
// with a read-create-write SAS for SASLifetime. It fails with
// ErrTooManyUploads when the device has MaxActive open uploads.
func (u *Uploads) Start(deviceID, name string, now time.Time) (Upload, error) {
	blobName := deviceID + "/" + strings.TrimPrefix(name, "/")
	if name == "" || !validBlobName(blobName) {
		return Upload{}, fmt.Errorf("%w: %q", ErrBadBlobName, clip(name))
	}
	expires := now.Add(u.cfg.SASLifetime)
	u.mu.Lock()
	defer u.mu.Unlock()
	active := 0
	for id, s := range u.sessions {
		switch {
		case !now.Before(s.expires):
			delete(u.sessions, id) // the slot is free once the SAS expires
		case s.deviceID == deviceID:
			active++
		}
	}
	if active >= u.cfg.MaxActive {
		return Upload{}, ErrTooManyUploads
	}
	id := correlationID()
	u.sessions[id] = session{deviceID: deviceID, blobName: blobName, expires: expires}
	return Upload{
		CorrelationID: id, HostName: u.cfg.Host, ContainerName: u.cfg.Container, BlobName: blobName,
		SASToken: "?" + u.srv.SAS(u.cfg.Container, blobName, "rcw", expires),
	}, nil
}

// Complete closes an upload. A successful one is recorded as a
// Notification, with the blob's size as stored.
func (u *Uploads) Complete(deviceID, correlationID string, c Completion, now time.Time) error {
	u.mu.Lock()
	defer u.mu.Unlock()
	s, ok := u.sessions[correlationID]
	if !ok || s.deviceID != deviceID || !now.Before(s.expires) {
		return ErrUnknownCorrelation
	}
	delete(u.sessions, correlationID)
	if !c.IsSuccess {
		return nil
	}
	n := Notification{
		DeviceID: deviceID, BlobName: s.blobName, LastUpdatedTime: now.UTC(), EnqueuedTimeUTC: now.UTC(),
		BlobURI: "https://" + u.cfg.Host + "/" + u.cfg.Container + "/" + EscapePath(s.blobName),
	}
	if p, err := u.srv.Store().Props(u.cfg.Container, s.blobName); err == nil {
		n.BlobSizeInBytes, n.LastUpdatedTime, n.Metadata = p.Size, p.Modified, p.Metadata
	}
	u.notes = append(u.notes, n)
	return nil
}

// Notifications returns the file notifications so far, oldest first.
func (u *Uploads) Notifications() []Notification {
	u.mu.Lock()
	defer u.mu.Unlock()
	out := append([]Notification(nil), u.notes...)
	for i := range out {
		out[i].Metadata = maps.Clone(out[i].Metadata)
	}
	return out
}

// Active returns how many uploads deviceID has open at now.
func (u *Uploads) Active(deviceID string, now time.Time) int {
	u.mu.Lock()
	defer u.mu.Unlock()
	n := 0
	for _, s := range u.sessions {
		if s.deviceID == deviceID && now.Before(s.expires) {
			n++
		}
	}
	return n
}

func correlationID() string {
	var b [36]byte
	rand.Read(b[:]) // never fails (crypto/rand, Go 1.24+)
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// EscapePath escapes each segment of a blob name for a blob URI's path
// (https://{host}/{container}/{EscapePath(name)}), keeping the '/'s.
func EscapePath(name string) string {
	segs := strings.Split(name, "/")
	for i, s := range segs {
		segs[i] = url.PathEscape(s)
	}
	return strings.Join(segs, "/")
}
