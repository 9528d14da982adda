package logship

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"log"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/cloudpillar/cloudpillar/agent/backoff"
)

var backoffFast = backoff.Policy{Base: 10 * time.Millisecond, Cap: 100 * time.Millisecond}

func slogDiscard() *log.Logger { return log.New(io.Discard, "", 0) }

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t testing.TB, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v", what, within)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// run starts s.Run; the returned stop (also run at cleanup) cancels it and
// waits for it to return.
func run(t testing.TB, s *Shipper) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("Run: %v", err)
				}
			case <-time.After(10 * time.Second):
				t.Errorf("Run did not return within 10 s of cancellation")
			}
		})
	}
	t.Cleanup(stop)
	return stop
}

// statusLog records what OnStatus reported.
type statusLog struct {
	mu     sync.Mutex
	last   map[string]map[string]any
	states map[string][]string
}

func newStatusLog() *statusLog {
	return &statusLog{last: map[string]map[string]any{}, states: map[string][]string{}}
}

func (l *statusLog) on(id string, st map[string]any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if st == nil {
		delete(l.last, id)
		l.states[id] = append(l.states[id], "<forgotten>")
		return
	}
	l.last[id] = st
	if s := st["state"].(string); len(l.states[id]) == 0 || l.states[id][len(l.states[id])-1] != s {
		l.states[id] = append(l.states[id], s)
	}
}

func (l *statusLog) get(id string) map[string]any {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.last[id]
}

func (l *statusLog) state(id string) string {
	if st := l.get(id); st != nil {
		return st["state"].(string)
	}
	return ""
}

func (l *statusLog) history(id string) []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.states[id]...)
}

// finished waits until job id is done or failed and returns its status.
func (l *statusLog) finished(t testing.TB, id string, within time.Duration) map[string]any {
	t.Helper()
	waitFor(t, within, "job "+id+" to finish", func() bool {
		s := l.state(id)
		return s == StateDone || s == StateFailed
	})
	return l.get(id)
}

// file returns entry i (1-based) of a job status's blobs.
func file(st map[string]any, i int) map[string]any {
	return st["blobs"].(map[string]any)[fmt.Sprint(i)].(map[string]any)
}

// writeFile writes data to dir/name and returns the path.
func writeFile(t testing.TB, dir, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(dir, filepath.FromSlash(name))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// logText is n bytes of plausible log lines (compressible, like real logs).
func logText(seed uint64, n int) []byte {
	r := rand.New(rand.NewPCG(seed, 1))
	words := []string{"catheter", "mapping", "ablation", "signal", "ok", "warn", "points", "ECG", "channel", "impedance"}
	var b bytes.Buffer
	for b.Len() < n {
		fmt.Fprintf(&b, "2025-01-%02d 10:%02d:%02d.%03d [%s] %s %s %d\n", r.IntN(28)+1, r.IntN(60), r.IntN(60), r.IntN(1000),
			words[r.IntN(len(words))], words[r.IntN(len(words))], words[r.IntN(len(words))], r.IntN(100000))
	}
	return b.Bytes()[:n]
}

// noise is n incompressible bytes.
func noise(seed uint64, n int) []byte {
	r := rand.New(rand.NewPCG(seed, 2))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

func gunzip(t testing.TB, b []byte) []byte {
	t.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("gunzip: %v", err)
	}
	out, err := io.ReadAll(zr)
	if err != nil {
		t.Fatalf("gunzip: %v", err)
	}
	return out
}

func hexSHA(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// checkDelivered verifies file i of a finished job: the blob decompresses
// to want, its SHA-256 is the one reported and the one the blob store
// keeps in its metadata, and the hub recorded a notification for it.
func checkDelivered(t testing.TB, h *testHub, deviceID string, st map[string]any, i int, want []byte) {
	t.Helper()
	f := file(st, i)
	if f["state"] != fileDone {
		t.Fatalf("file %d: state %v, error %v", i, f["state"], f["error"])
	}
	name := f["name"].(string)
	b := h.blob(t, deviceID, name)
	if got := gunzip(t, b); !bytes.Equal(got, want) {
		t.Fatalf("blob %s decompresses to %d bytes, want the original %d", name, len(got), len(want))
	}
	if sum, meta := hexSHA(b), h.props(t, deviceID, name).Metadata; f["sha256"] != sum || meta["sha256"] != sum {
		t.Fatalf("blob %s: sha256 %s, reported %v, stored metadata %q", name, sum, f["sha256"], meta["sha256"])
	}
	if f["bytes"] != int64(len(b)) || f["contentSha256"] != hexSHA(want) {
		t.Fatalf("blob %s: reported bytes %v (blob %d), contentSha256 %v", name, f["bytes"], len(b), f["contentSha256"])
	}
	for _, n := range h.notifications() {
		if n.BlobName == deviceID+"/"+name {
			return
		}
	}
	t.Fatalf("no notification for %s", name)
}

// newShipper builds a Shipper whose status goes to a statusLog.
func newShipper(t testing.TB, cfg Config) (*Shipper, *statusLog) {
	t.Helper()
	l := newStatusLog()
	cfg.OnStatus = l.on
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return s, l
}
