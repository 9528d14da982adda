package blob

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// TestNotificationRecordsMetadata: a successful upload's notification
// carries the blob's metadata as stored when the device reported success,
// for the harness; the notification JSON stays IoT Hub's (PROTOCOL.md §3).
func TestNotificationRecordsMetadata(t *testing.T) {
	store, err := OpenStore(t.TempDir(), StoreConfig{})
	if err != nil {
		t.Fatal(err)
	}
	up := NewUploads(NewServer(store, nil, nil), UploadsConfig{Host: "hub.example:443"})
	now := time.Now()
	u, err := up.Start("dev-1", "logs/a.gz", now)
	if err != nil {
		t.Fatal(err)
	}
	meta := map[string]string{"sha256": "c0ffee"}
	if _, err := store.Put(DefaultContainer, u.BlobName, strings.NewReader("gz"), Attrs{Metadata: meta}, Digests{}, now); err != nil {
		t.Fatal(err)
	}
	if err := up.Complete("dev-1", u.CorrelationID, Completion{IsSuccess: true, StatusCode: 200}, now); err != nil {
		t.Fatal(err)
	}
	notes := up.Notifications()
	if len(notes) != 1 || notes[0].BlobName != "dev-1/logs/a.gz" || notes[0].BlobSizeInBytes != 2 || !sameMeta(notes[0].Metadata, meta) {
		t.Fatalf("notifications = %+v", notes)
	}
	raw, err := json.Marshal(notes[0])
	if err != nil || strings.Contains(string(raw), "c0ffee") {
		t.Fatalf("notification JSON carries hubsim's extra: %s %v", raw, err)
	}
}
