package features

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"time"

	"github.com/cucumber/godog"

	"github.com/cloudpillar/cloudpillar/agent/logship"
)

// hasLogSet writes n rotated log files of mb MB each (carto.log,
// carto.log.1, ...) into a fresh folder and starts the shipper on it.
func (lw *logWorld) hasLogSet(n, mb int) error {
	d, err := lw.w.only()
	if err != nil {
		return err
	}
	if lw.dir, err = os.MkdirTemp("", "cloudpillar-logs-"); err != nil {
		return err
	}
	lw.set = make(map[string][]byte, n)
	for i := range n {
		name := "carto.log"
		if i > 0 {
			name = fmt.Sprintf("carto.log.%d", i)
		}
		b := deviceLog(uint64(100+i), mb*1_000_000)
		if err := os.WriteFile(filepath.Join(lw.dir, name), b, 0o644); err != nil {
			return err
		}
		lw.set[name] = b
	}
	return lw.start(d)
}

// setBlob is one blob of the job, as the device reported it and as the
// hub holds it.
type setBlob struct {
	name          string // as the hub stores it: <deviceId>/<blob>
	data          []byte
	sha256        string // reported: of the uploaded (compressed) bytes
	contentSHA256 string // reported: of the file's content
}

// setBlobs reads every blob the job lists from the hub.
func (lw *logWorld) setBlobs() ([]setBlob, error) {
	st, err := lw.status()
	if err != nil {
		return nil, err
	}
	listed, _ := st["blobs"].(map[string]any)
	var out []setBlob
	for _, v := range listed {
		f, _ := v.(map[string]any)
		name, _ := f["name"].(string)
		if name == "" {
			return nil, fmt.Errorf("job %s lists a file without a blob: %v", lw.jobID, f)
		}
		full := lw.devID + "/" + name
		b, err := lw.w.hub.ReadBlob(full)
		if err != nil {
			return nil, err
		}
		sha, _ := f["sha256"].(string)
		content, _ := f["contentSha256"].(string)
		out = append(out, setBlob{name: full, data: b, sha256: sha, contentSHA256: content})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].name < out[j].name })
	return out, nil
}

// setHeld checks that each file of the set has exactly one blob, whose
// bytes at the hub hash to the SHA-256 the device reported.
func (lw *logWorld) setHeld(ctx context.Context) error {
	if lw.set == nil {
		return fmt.Errorf("no log set: use \"the device has a log set of N files of M MB each\" first")
	}
	blobs, err := lw.setBlobs()
	if err != nil {
		return err
	}
	if len(blobs) != len(lw.set) {
		return fmt.Errorf("the job delivered %d blobs for a log set of %d files", len(blobs), len(lw.set))
	}
	var total int
	for _, b := range blobs {
		if sum := sha256.Sum256(b.data); hex.EncodeToString(sum[:]) != b.sha256 {
			return fmt.Errorf("blob %s has SHA-256 %x, the device reported %s", b.name, sum, b.sha256)
		}
		total += len(b.data)
	}
	godog.Logf(ctx, "%d files, %d compressed bytes at the hub", len(blobs), total)
	return nil
}

// setDecompresses matches every file of the set to the blob whose
// reported content hash is the file's, and checks the blob decompresses
// to the file byte for byte.
func (lw *logWorld) setDecompresses() error {
	blobs, err := lw.setBlobs()
	if err != nil {
		return err
	}
	byContent := make(map[string]setBlob, len(blobs))
	for _, b := range blobs {
		byContent[b.contentSHA256] = b
	}
	for name, orig := range lw.set {
		sum := sha256.Sum256(orig)
		b, ok := byContent[hex.EncodeToString(sum[:])]
		if !ok {
			return fmt.Errorf("no blob carries the content of %s", name)
		}
		zr, err := gzip.NewReader(bytes.NewReader(b.data))
		if err != nil {
			return fmt.Errorf("blob %s (%s): %w", b.name, name, err)
		}
		h := sha256.New()
		n, err := io.Copy(h, zr)
		if err != nil {
			return fmt.Errorf("blob %s (%s): %w", b.name, name, err)
		}
		if n != int64(len(orig)) || !bytes.Equal(h.Sum(nil), sum[:]) {
			return fmt.Errorf("blob %s decompresses to %d bytes that differ from %s (%d bytes)", b.name, n, name, len(orig))
		}
	}
	return nil
}

// setNotified checks the hub's file upload notifications name every blob
// with its size.
func (lw *logWorld) setNotified() error {
	blobs, err := lw.setBlobs()
	if err != nil {
		return err
	}
	seen := make(map[string]int64)
	for _, n := range lw.w.hub.FileNotifications() {
		seen[n.BlobName] = n.BlobSizeInBytes
	}
	for _, b := range blobs {
		if size, ok := seen[b.name]; !ok || size != int64(len(b.data)) {
			return fmt.Errorf("no notification for %s (%d bytes)", b.name, len(b.data))
		}
	}
	return nil
}

// stopsForCase checks that the upload in flight when the case started
// reported waiting for the case within a second, then that no byte of it
// was staged at the hub for secs seconds.
func (lw *logWorld) stopsForCase(ctx context.Context, secs int) error {
	err := within(ctx, 10*time.Second, func() error {
		lw.mu.Lock()
		defer lw.mu.Unlock()
		if lw.caseStarted.IsZero() {
			return fmt.Errorf("no case was started during the upload")
		}
		if lw.waitingAt.IsZero() {
			return fmt.Errorf("the upload has not paused for the case")
		}
		return nil
	})
	if err != nil {
		return err
	}
	lw.mu.Lock()
	took := lw.waitingAt.Sub(lw.caseStarted)
	lw.mu.Unlock()
	if took > time.Second {
		return fmt.Errorf("the upload paused %v after the case started, want within 1 s", took.Round(time.Millisecond))
	}
	godog.Logf(ctx, "the upload paused %v after the case started", took.Round(time.Millisecond))
	st, err := lw.status()
	if err != nil {
		return err
	}
	staged := st["bytes"].(int64)
	return throughout(ctx, seconds(secs), func() error {
		st, err := lw.status()
		switch {
		case err != nil:
			return err
		case st["state"] != logship.StateWaiting:
			return fmt.Errorf("during the case the job is %v", st["state"])
		case st["bytes"].(int64) != staged:
			return fmt.Errorf("during the case the staged bytes grew from %d to %v", staged, st["bytes"])
		}
		return nil
	})
}
