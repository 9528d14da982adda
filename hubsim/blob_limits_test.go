package hubsim_test

import (
	"bytes"
	"testing"

	"github.com/cloudpillar/cloudpillar/hubsim"
	"github.com/cloudpillar/cloudpillar/hubsim/blob"
	"github.com/cloudpillar/cloudpillar/hubsim/hubtest"
)

// TestBlobLimitsComeFromTheHubConfig: Config.Blobs reaches the blob
// endpoint, so a scenario can lower (or raise) the size a device may
// upload; a blob over the limit is refused and nothing is stored.
func TestBlobLimitsComeFromTheHubConfig(t *testing.T) {
	h := hubtest.NewHub(t, hubsim.Config{Blobs: blob.StoreConfig{MaxBlobBytes: 4096, MaxPutBlobBytes: 4096}})
	dev, ctx := httpDevice(t, h, "up-1")
	big := bytes.Repeat([]byte("x"), 8192)
	if err := dev.UploadFile(ctx, "too-big.bin", bytes.NewReader(big), int64(len(big))); err == nil {
		t.Fatal("an 8 KiB upload was accepted with a 4 KiB blob limit")
	}
	if _, err := h.ReadBlob("up-1/too-big.bin"); err == nil {
		t.Fatal("the refused blob was stored")
	}
	small := bytes.Repeat([]byte("y"), 1024)
	if err := dev.UploadFile(ctx, "small.bin", bytes.NewReader(small), int64(len(small))); err != nil {
		t.Fatalf("a 1 KiB upload under the limit: %v", err)
	}
	if got, err := h.ReadBlob("up-1/small.bin"); err != nil || !bytes.Equal(got, small) {
		t.Fatalf("ReadBlob = %d bytes, %v", len(got), err)
	}
}
