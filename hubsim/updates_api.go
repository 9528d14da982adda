package hubsim

import (
	"errors"
	"time"

	"github.com/cloudpillar/cloudpillar/hubsim/blob"
)

// The harness publishes update files (cloudpillar updates publish) into
// the hub's own blob store, as Azure Device Update keeps them in its
// storage: POST /_sim/updates/{name} hands out an upload URL and a
// download URL for the blob `updates/{name}`, served by the same blob
// endpoint (and kept in the same store, so under StateDir/blobs with a
// StateDir) as device file uploads.
const (
	// updatesContainer holds published update files.
	updatesContainer = "updates"
	// updateUploadLifetime is how long an upload URL may write.
	updateUploadLifetime = time.Hour
	// DefaultUpdateURLLifetime is a download URL's lifetime when
	// Config.UpdateURLLifetime is zero.
	DefaultUpdateURLLifetime = 30 * 24 * time.Hour
)

// publishURLs is service.Config.PublishURLs: an upload URL that may read,
// create and write the blob for an hour, and a read-only download URL
// valid for UpdateURLLifetime, both from the hub's clock. The name was
// checked by the service; the URLs name the hub's HTTPS endpoint under
// its host name.
func (h *Hub) publishURLs(name string) (uploadURL, downloadURL string, err error) {
	s := &h.https
	if s.blobs == nil {
		return "", "", errors.New("publish update: the hub is not started")
	}
	life := h.cfg.UpdateURLLifetime
	if life <= 0 {
		life = DefaultUpdateURLLifetime
	}
	now := h.cfg.Now()
	base := "https://" + s.host + "/" + updatesContainer + "/" + blob.EscapePath(name) + "?"
	uploadURL = base + s.blobs.SAS(updatesContainer, name, "rcw", now.Add(updateUploadLifetime))
	downloadURL = base + s.blobs.SAS(updatesContainer, name, "r", now.Add(life))
	return uploadURL, downloadURL, nil
}
