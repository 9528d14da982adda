package features

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/cucumber/godog"

	"github.com/cloudpillar/cloudpillar/agent/backoff"
	"github.com/cloudpillar/cloudpillar/agent/guard"
	"github.com/cloudpillar/cloudpillar/agent/logship"
	"github.com/cloudpillar/cloudpillar/devsim"
)

// Log delivery settings: 256 KiB blocks so a few MB make several, and a
// guard clock 30 times faster than the wall clock, so the one-minute
// quiet period passes in two seconds.
const (
	logBlockSize  = 256 << 10
	guardScale    = 30
	observeEvery  = 50 * time.Millisecond
	uploadPayload = `{"sources":["device"]}`
)

// logWorld is the state of one log delivery scenario: the device's log
// folder, the agent's log shipper for it (on the device's site network and
// behind a patient-first gate that watches the virtual CARTO's case
// state), and the upload job.
type logWorld struct {
	w        *world
	devID    string
	dir      string
	original []byte
	redactor *logship.Redactor // nil: logs go out as they are
	patients int               // patient lines written by hasPatientLog
	ship     *logship.Shipper
	clock    *scaledClock
	jobID    string
	cancel   context.CancelFunc
	wg       sync.WaitGroup

	set map[string][]byte // the log set's files by name (hasLogSet); nil: one file, original

	mu          sync.Mutex
	caseStarted time.Time // wall clock: when a step started a case with an upload in flight
	waitingAt   time.Time // wall clock: the first "waiting" report after caseStarted
	caseEnded   time.Time // guard clock: when the gate first saw the case over
	uploadingAt time.Time // guard clock: first "uploading" report after that
}

// registerLogSteps registers the steps of log_delivery.feature; the
// shipper stops in an After hook that runs before the fleet and hub stop.
func (w *world) registerLogSteps(sc *godog.ScenarioContext) {
	lw := &logWorld{w: w}
	sc.Step(`^the device has a (\d+) MB device log$`, lw.hasDeviceLog)
	sc.Step(`^the device's uploads are capped at (\d+) KB per second$`, lw.capped)
	sc.Step(`^the device has a device log naming (\d+) patients$`, lw.hasPatientLog)
	sc.Step(`^the device has a log set of (\d+) files of (\d+) MB each$`, lw.hasLogSet)
	sc.Step(`^every file of the log set is held by the hub as a blob with the SHA-256 the device reported$`, lw.setHeld)
	sc.Step(`^every blob decompresses to its original file, byte for byte$`, lw.setDecompresses)
	sc.Step(`^the hub received a file upload notification for every blob$`, lw.setNotified)
	sc.Step(`^within 1 second the upload stops, and for (\d+) seconds no more of it reaches the hub$`, lw.stopsForCase)
	sc.Step(`^the uploaded log names no patient, MRN or date of birth, and the job reports (\d+) redactions$`, lw.redacted)
	sc.Step(`^a patient case is live on the device$`, func() error { return lw.setCase(true) })
	sc.Step(`^a patient case starts on the device$`, func() error { return lw.setCase(true) })
	sc.Step(`^the patient case on the device ends$`, func() error { return lw.setCase(false) })
	sc.Step(`^the service requests the device's logs$`, lw.request)
	sc.Step(`^the upload has staged (\d+) blocks$`, lw.staged)
	sc.Step(`^the upload notices the outage$`, lw.noticesOutage)
	sc.Step(`^for (\d+) seconds the upload waits for the case and nothing reaches the hub$`, lw.waitsForCase)
	sc.Step(`^within (\d+) seconds the upload job is done$`, lw.done)
	sc.Step(`^the upload started only after the quiet period that followed the case$`, lw.startedAfterQuiet)
	sc.Step(`^the hub holds the log as a blob with the SHA-256 the device reported$`, lw.shaMatches)
	sc.Step(`^the blob decompresses to the device's original log, byte for byte$`, lw.decompressesToOriginal)
	sc.Step(`^the hub received a file upload notification for the blob$`, lw.notified)
	sc.Step(`^at most (\d+) blocks were sent again, of (\d+) or more$`, lw.resentAtMost)
	sc.After(func(ctx context.Context, _ *godog.Scenario, err error) (context.Context, error) {
		return ctx, lw.close()
	})
}

// hasDeviceLog writes an n MB log into a fresh folder and starts the
// shipper for the fleet's one device.
func (lw *logWorld) hasDeviceLog(mb int) error {
	d, err := lw.w.only()
	if err != nil {
		return err
	}
	if lw.dir, err = os.MkdirTemp("", "cloudpillar-logs-"); err != nil {
		return err
	}
	lw.original = deviceLog(uint64(mb), mb*1_000_000)
	if err := os.WriteFile(filepath.Join(lw.dir, "carto.log"), lw.original, 0o644); err != nil {
		return err
	}
	return lw.start(d)
}

// hasPatientLog writes a log with n lines naming a (fictional) patient,
// MRN and date of birth among ordinary lines, and starts the shipper with
// the default redaction patterns.
func (lw *logWorld) hasPatientLog(n int) error {
	d, err := lw.w.only()
	if err != nil {
		return err
	}
	if lw.dir, err = os.MkdirTemp("", "cloudpillar-logs-"); err != nil {
		return err
	}
	var b strings.Builder
	for i := 1; i <= n; i++ {
		fmt.Fprintf(&b, "09:%02d map point %d acquired\n", i, i)
		fmt.Fprintf(&b, "09:%02d case opened Patient: Jane Roe%d, MRN: 1234567%d, DOB 1980-02-0%d\n", i, i, i, i)
	}
	lw.original, lw.patients = []byte(b.String()), n
	if err := os.WriteFile(filepath.Join(lw.dir, "carto.log"), lw.original, 0o644); err != nil {
		return err
	}
	if lw.redactor, err = logship.NewRedactor(logship.DefaultPatterns()...); err != nil {
		return err
	}
	return lw.start(d)
}

// redacted checks the uploaded log: no patient identifier left, every
// ordinary line intact, and the job's redaction count.
func (lw *logWorld) redacted(want int) error {
	name, b, _, err := lw.blob()
	if err != nil {
		return err
	}
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		return fmt.Errorf("blob %s: %w", name, err)
	}
	got, err := io.ReadAll(zr)
	if err != nil {
		return fmt.Errorf("blob %s: %w", name, err)
	}
	text := string(got)
	for i := 1; i <= lw.patients; i++ {
		for _, secret := range []string{fmt.Sprintf("Jane Roe%d", i), fmt.Sprintf("1234567%d", i), fmt.Sprintf("1980-02-0%d", i)} {
			if strings.Contains(text, secret) {
				return fmt.Errorf("the uploaded log still contains %q", secret)
			}
		}
		if line := fmt.Sprintf("09:%02d map point %d acquired\n", i, i); !strings.Contains(text, line) {
			return fmt.Errorf("the uploaded log lost the line %q", line)
		}
	}
	st, err := lw.status()
	if err != nil {
		return err
	}
	if n, _ := st["redactions"].(int); n != want {
		return fmt.Errorf("the job reports %v redactions, want %d", st["redactions"], want)
	}
	return nil
}

// start builds the shipper with the device's credentials and network and
// runs it, with a goroutine feeding the CARTO case state to its gate.
func (lw *logWorld) start(d *devsim.Device) error {
	h := lw.w.hub
	lw.devID = d.ID
	certPEM, keyPEM, err := h.IssueDeviceCert(d.ID)
	if err != nil {
		return err
	}
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return err
	}
	lw.clock = newScaledClock(guardScale)
	gate := guard.NewGate(guard.New(guard.Config{QuietPeriod: guard.MinQuietPeriod}), lw.clock.now, lw.clock.after)
	var dialer net.Dialer
	lw.ship, err = logship.New(logship.Config{
		DeviceID: d.ID, HostName: h.HostName(), Address: h.HTTPSAddr(), RootCAs: h.CA().Pool(), Certificate: cert,
		Dial:    logship.DialFunc(lw.w.net.Dialer(d.Site, dialer.DialContext)),
		Sources: []logship.Source{{Name: "device", Kind: logship.KindDeviceLog, Root: lw.dir, Patterns: []string{"*.log*"}}},
		Waiter:  gate, OnStatus: lw.onStatus, Redactor: lw.redactor,
		BlockSize: logBlockSize, RequestTimeout: 2 * time.Second,
		Backoff: backoff.Policy{Base: 200 * time.Millisecond, Cap: 2 * time.Second},
		Logger:  lw.w.log.With("subsystem", "logship", "device", d.ID),
	})
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(context.Background())
	lw.cancel = cancel
	lw.wg.Go(func() { lw.ship.Run(ctx) })
	lw.wg.Go(func() { lw.observe(ctx, gate, d) })
	return nil
}

// observe feeds the device's case state to the gate, as the agent's runner
// does, and notes when the gate first saw the case over.
func (lw *logWorld) observe(ctx context.Context, gate *guard.Gate, d *devsim.Device) {
	t := time.NewTicker(observeEvery)
	defer t.Stop()
	for {
		gate.Observe(d.CARTO.CaseState())
		if st := gate.Status(); st.State == guard.StateQuiet && d.CARTO.Cases() > 0 {
			lw.mu.Lock()
			if lw.caseEnded.IsZero() {
				lw.caseEnded = lw.clock.now()
			}
			lw.mu.Unlock()
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (lw *logWorld) onStatus(id string, st map[string]any) {
	if st == nil {
		return
	}
	lw.mu.Lock()
	defer lw.mu.Unlock()
	switch st["state"] {
	case logship.StateWaiting:
		if !lw.caseStarted.IsZero() && lw.waitingAt.IsZero() {
			lw.waitingAt = time.Now()
		}
	case logship.StateUploading:
		if !lw.caseEnded.IsZero() && lw.uploadingAt.IsZero() {
			lw.uploadingAt = lw.clock.now()
		}
	}
}

func (lw *logWorld) close() error {
	if lw.cancel != nil {
		lw.cancel()
		lw.wg.Wait()
	}
	return os.RemoveAll(lw.dir) // "" is nothing to remove
}

// errNoLog: a step needs the shipper that "the device has a N MB device
// log" starts.
var errNoLog = errors.New("no device log: use \"the device has a N MB device log\" first")

func (lw *logWorld) capped(kb int) error {
	if lw.ship == nil {
		return errNoLog
	}
	lw.ship.SetBandwidth(int64(kb) * 1000)
	return nil
}

func (lw *logWorld) setCase(live bool) error {
	d, err := lw.w.only()
	if err != nil {
		return err
	}
	if live {
		if lw.jobID != "" { // an upload is in flight: time the pause
			lw.mu.Lock()
			lw.caseStarted = time.Now()
			lw.mu.Unlock()
		}
		d.CARTO.StartCase()
	} else {
		d.CARTO.EndCase()
	}
	return nil
}

// request asks for the device's logs with the payload of the direct method
// uploadLogs. The shipper runs on its own here (no agent, so no direct
// method route): the step calls the shipper's method handler, which is
// what the agent's method dispatch calls.
func (lw *logWorld) request() error {
	if lw.ship == nil {
		return errNoLog
	}
	status, body := lw.ship.HandleMethod([]byte(uploadPayload))
	var m map[string]string
	if status != 200 || json.Unmarshal(body, &m) != nil || m["jobId"] == "" {
		return fmt.Errorf("uploadLogs answered %d %s", status, body)
	}
	lw.jobID = m["jobId"]
	return nil
}

// status is the job's current status as the twin would show it.
func (lw *logWorld) status() (map[string]any, error) {
	if lw.jobID == "" {
		return nil, errors.New("no upload was requested")
	}
	st, ok := lw.ship.Status(lw.jobID)
	if !ok {
		return nil, fmt.Errorf("job %s unknown", lw.jobID)
	}
	return st, nil
}

func (lw *logWorld) staged(ctx context.Context, n int) error {
	return within(ctx, 30*time.Second, func() error {
		st, err := lw.status()
		if err == nil && st["bytes"].(int64) < int64(n)*logBlockSize*3/4 {
			err = fmt.Errorf("%d bytes staged", st["bytes"])
		}
		return err
	})
}

func (lw *logWorld) noticesOutage(ctx context.Context) error {
	return within(ctx, 15*time.Second, func() error { return lw.inState(logship.StateRetrying) })
}

func (lw *logWorld) inState(want string) error {
	st, err := lw.status()
	if err == nil && st["state"] != want {
		err = fmt.Errorf("job %s is %v (%v %v), want %s", lw.jobID, st["state"], st["detail"], st["error"], want)
	}
	return err
}

func (lw *logWorld) waitsForCase(ctx context.Context, secs int) error {
	return throughout(ctx, seconds(secs), func() error {
		st, err := lw.status()
		switch {
		case err != nil:
			return err
		case st["state"] != logship.StateWaiting && st["state"] != logship.StateQueued:
			return fmt.Errorf("during the case the job is %v", st["state"])
		case st["bytes"].(int64) != 0 || len(lw.w.hub.FileNotifications()) != 0:
			return fmt.Errorf("during the case %v bytes were uploaded", st["bytes"])
		}
		return nil
	})
}

func (lw *logWorld) done(ctx context.Context, secs int) error {
	var failed error
	err := within(ctx, seconds(secs), func() error {
		st, err := lw.status()
		if err == nil && st["state"] == logship.StateFailed {
			failed = fmt.Errorf("job %s failed: %v", lw.jobID, st["error"])
			return nil
		}
		return lw.inState(logship.StateDone)
	})
	if failed != nil {
		return failed
	}
	return err
}

// startedAfterQuiet checks, on the guard's clock, that the upload began no
// sooner than the quiet period after the gate saw the case end.
func (lw *logWorld) startedAfterQuiet() error {
	lw.mu.Lock()
	ended, started := lw.caseEnded, lw.uploadingAt
	lw.mu.Unlock()
	if gap := started.Sub(ended); ended.IsZero() || started.IsZero() || gap < guard.MinQuietPeriod {
		return fmt.Errorf("case ended at %v, upload started at %v: not after the %v quiet period", ended, started, guard.MinQuietPeriod)
	}
	return nil
}

// blob returns the delivered blob's name (as the hub stores it) and bytes.
func (lw *logWorld) blob() (string, []byte, map[string]any, error) {
	st, err := lw.status()
	if err != nil {
		return "", nil, nil, err
	}
	f, ok := st["blobs"].(map[string]any)["1"].(map[string]any)
	if !ok {
		return "", nil, nil, fmt.Errorf("job %s lists no file", lw.jobID)
	}
	name := lw.devID + "/" + f["name"].(string)
	b, err := lw.w.hub.ReadBlob(name)
	return name, b, f, err
}

func (lw *logWorld) shaMatches() error {
	name, b, f, err := lw.blob()
	if sum := sha256.Sum256(b); err == nil && hex.EncodeToString(sum[:]) != f["sha256"] {
		err = fmt.Errorf("blob %s has SHA-256 %x, the device reported %v", name, sum, f["sha256"])
	}
	return err
}

func (lw *logWorld) decompressesToOriginal() error {
	name, b, _, err := lw.blob()
	if err != nil {
		return err
	}
	zr, err := gzip.NewReader(bytes.NewReader(b))
	var got []byte
	if err == nil {
		got, err = io.ReadAll(zr)
	}
	if err != nil {
		return fmt.Errorf("blob %s: %w", name, err)
	}
	if len(got) != len(lw.original) || sha256.Sum256(got) != sha256.Sum256(lw.original) {
		return fmt.Errorf("blob %s decompresses to %d bytes that differ from the %d-byte original", name, len(got), len(lw.original))
	}
	return nil
}

func (lw *logWorld) notified() error {
	name, b, _, err := lw.blob()
	if err != nil {
		return err
	}
	for _, n := range lw.w.hub.FileNotifications() {
		if n.BlobName == name && n.BlobSizeInBytes == int64(len(b)) {
			return nil
		}
	}
	return fmt.Errorf("no notification for %s (%d bytes) among %d", name, len(b), len(lw.w.hub.FileNotifications()))
}

// resentAtMost checks the blocks sent twice against the blocks the blob
// has: a restarted upload would have re-sent every one.
func (lw *logWorld) resentAtMost(ctx context.Context, most, atLeast int) error {
	st, err := lw.status()
	if err != nil {
		return err
	}
	resent, blocks := st["resentBlocks"].(int), int((st["bytes"].(int64)+logBlockSize-1)/logBlockSize)
	if blocks < atLeast || resent > most {
		return fmt.Errorf("%d of about %d blocks were sent again (at most %d of %d or more allowed)", resent, blocks, most, atLeast)
	}
	godog.Logf(ctx, "%d of about %d blocks were sent again after the outage", resent, blocks)
	return nil
}

// deviceLog is n bytes of CARTO-like log lines, the same for a seed.
func deviceLog(seed uint64, n int) []byte {
	r := rand.New(rand.NewPCG(seed, 7))
	events := []string{"map point acquired", "catheter contact force ok", "ECG channel noise", "ablation started",
		"ablation stopped", "impedance check", "respiration gating on", "UI refresh"}
	var b bytes.Buffer
	t := time.Date(2025, 1, 1, 7, 0, 0, 0, time.UTC)
	for b.Len() < n {
		t = t.Add(time.Duration(r.IntN(900)) * time.Millisecond)
		fmt.Fprintf(&b, "%s [%s] %s value=%d seq=%d\n", t.Format("2006-01-02 15:04:05.000"),
			[]string{"INFO", "WARN", "DEBUG"}[r.IntN(3)], events[r.IntN(len(events))], r.IntN(100000), r.Uint32())
	}
	return b.Bytes()[:n]
}

// scaledClock runs scale times faster than the wall clock (the guard's
// clock in the scenarios: policy time compressed, sockets real).
type scaledClock struct {
	start time.Time
	scale int
}

func newScaledClock(scale int) *scaledClock { return &scaledClock{start: time.Now(), scale: scale} }

func (c *scaledClock) now() time.Time {
	return c.start.Add(time.Since(c.start) * time.Duration(c.scale))
}

func (c *scaledClock) after(d time.Duration) <-chan time.Time {
	return time.After(d / time.Duration(c.scale))
}
