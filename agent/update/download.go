package update

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/cloudpillar/cloudpillar/agent/backoff"
	"github.com/cloudpillar/cloudpillar/agent/guard"
)

// Download defaults.
const (
	DefaultMinRate         int64 = 1 << 10 // bytes/s
	DefaultRateWindow            = time.Minute
	DefaultCheckpointBytes int64 = 4 << 20
	DefaultMaxAttempts           = 5
	DefaultRetryBase             = time.Second
	maxRetryDelay                = 30 * time.Second
	headerTimeout                = 30 * time.Second
	chunkSize                    = 32 << 10
)

// DownloadConfig configures a Downloader.
type DownloadConfig struct {
	// Dir holds partial ("<name>.part") and verified ("<name>") files.
	// Required; created if missing.
	Dir string
	// Progress persists how far each file got. Required.
	Progress Progress
	// Gate is the patient-first guard: a download starts only while it
	// allows guard.Download and stops within a second when it no longer
	// does. Required.
	Gate Gate
	// Client makes the requests. Nil: a client that waits at most 30 s
	// for response headers (the body is policed by MinRate).
	Client *http.Client
	// MinRate is the slowest acceptable transfer, in bytes per second
	// averaged over each RateWindow of real time; slower aborts the
	// download with ReasonSlowDownload (slow retrieval). Zero:
	// DefaultMinRate.
	MinRate int64
	// RateWindow is the averaging window. Zero: DefaultRateWindow.
	RateWindow time.Duration
	// CheckpointBytes is how many bytes may arrive between two progress
	// records (each costs an fsync and a store commit). Zero:
	// DefaultCheckpointBytes.
	CheckpointBytes int64
	// MaxAttempts is how many requests in a row may fail (network error,
	// 5xx, 408, 429, truncated body) before the download fails with
	// ReasonDownload. Zero: DefaultMaxAttempts.
	MaxAttempts int
	// RetryBase is the first retry's delay ceiling (real time, full
	// jitter, doubling up to 30 s). Zero: DefaultRetryBase.
	RetryBase time.Duration
	// Notice hears about guard deferrals. Nil: nobody.
	Notice Notice
	// Nudge, if set, returns a channel whose closing cuts the current wait
	// before a retry short (the applyUpdate direct method). The failed
	// request still counts towards MaxAttempts.
	Nudge func() <-chan struct{}
	// Logger receives progress and retries. Nil discards.
	Logger *slog.Logger
}

// Downloader fetches verified update files: HTTP(S) GET with Range
// resume persisted across restarts, incremental SHA-256, the declared size
// as a hard cap, a minimum rate, and only while the guard allows. A
// Downloader may run several Fetches of different files at once.
type Downloader struct {
	cfg DownloadConfig
}

// NewDownloader checks cfg and fills defaults.
func NewDownloader(cfg DownloadConfig) (*Downloader, error) {
	if cfg.Dir == "" || cfg.Progress == nil || cfg.Gate == nil {
		return nil, errors.New("update downloader: Dir, Progress and Gate are required")
	}
	if err := os.MkdirAll(cfg.Dir, 0o700); err != nil {
		return nil, fmt.Errorf("update downloader: %w", err)
	}
	if cfg.Client == nil {
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.ResponseHeaderTimeout = headerTimeout
		cfg.Client = &http.Client{Transport: tr}
	}
	cfg.MinRate = cmp0(cfg.MinRate, DefaultMinRate)
	cfg.RateWindow = cmp0(cfg.RateWindow, DefaultRateWindow)
	cfg.CheckpointBytes = cmp0(cfg.CheckpointBytes, DefaultCheckpointBytes)
	cfg.MaxAttempts = cmp0(cfg.MaxAttempts, DefaultMaxAttempts)
	cfg.RetryBase = cmp0(cfg.RetryBase, DefaultRetryBase)
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &Downloader{cfg: cfg}, nil
}

// cmp0 is v, or def when v is zero or negative.
func cmp0[T int | int64 | time.Duration](v, def T) T {
	if v <= 0 {
		return def
	}
	return v
}

// Path is where the verified file of entry is stored.
func (d *Downloader) Path(entry FileEntry) string { return filepath.Join(d.cfg.Dir, entry.Name) }

func (d *Downloader) partPath(entry FileEntry) string { return d.Path(entry) + ".part" }

// Fetch downloads entry (from a verified Manifest) from url and returns
// the path of the verified file. It resumes where a previous Fetch of the
// same content stopped, even in an earlier process. It waits while the
// guard denies guard.Download, and returns ctx's cause when ctx ends (the
// progress is kept). Bad content (too long, wrong hash) is discarded and
// returned as an *Error.
func (d *Downloader) Fetch(ctx context.Context, entry FileEntry, url string) (string, error) {
	if d.complete(entry) {
		return d.Path(entry), nil
	}
	p, err := d.open(entry)
	if err != nil {
		return "", err
	}
	defer p.close()
	bo := backoff.New(backoff.Policy{Base: d.cfg.RetryBase, Cap: maxRetryDelay}, nil)
	failures := 0
	for p.check.Written() < entry.SizeInBytes {
		if err := waitAllowed(ctx, d.cfg.Gate, guard.Download, d.cfg.Notice); err != nil {
			return "", d.stop(p, err)
		}
		err := d.request(ctx, p, url)
		var rej *Error
		switch {
		case err == nil:
			failures = 0
			bo.Reset()
		case errors.Is(err, ErrPaused):
			d.cfg.Logger.Info("download paused by the guard", "file", entry.Name, "done", p.check.Written())
			if err := d.checkpoint(p); err != nil {
				return "", err
			}
		case ctx.Err() != nil:
			return "", d.stop(p, context.Cause(ctx))
		case errors.As(err, &rej):
			if rej.Reason == ReasonFileSize || rej.Reason == ReasonFileHash {
				d.discard(p)
			}
			return "", err
		default:
			failures++
			if cerr := d.checkpoint(p); cerr != nil {
				return "", cerr
			}
			if failures >= d.cfg.MaxAttempts {
				return "", reject(ReasonDownload, err, "file %q: %d requests in a row failed", entry.Name, failures)
			}
			delay := bo.Next()
			d.cfg.Logger.Warn("download request failed; will resume", "file", entry.Name, "done", p.check.Written(),
				"err", err, "retryIn", delay.Round(time.Millisecond).String())
			if err := sleepUntil(ctx, d.nudged(), delay); err != nil {
				return "", d.stop(p, err)
			}
		}
	}
	return d.finish(p)
}

// nudged is the channel that cuts a retry wait short (nil: none).
func (d *Downloader) nudged() <-chan struct{} {
	if d.cfg.Nudge == nil {
		return nil
	}
	return d.cfg.Nudge()
}

// stop saves progress when ctx ended and returns cause.
func (d *Downloader) stop(p *partial, cause error) error {
	if err := d.checkpoint(p); err != nil {
		return errors.Join(cause, err)
	}
	return cause
}

// complete reports whether the verified file is already in place (a
// restart after Fetch finished but before the caller recorded it).
func (d *Downloader) complete(entry FileEntry) bool {
	f, err := os.Open(d.Path(entry))
	if err != nil {
		return false
	}
	defer f.Close()
	want, err := entry.SHA256Sum()
	if err != nil {
		return false
	}
	h := sha256.New()
	n, err := io.Copy(h, io.LimitReader(f, entry.SizeInBytes+1))
	return err == nil && n == entry.SizeInBytes && subtle.ConstantTimeCompare(h.Sum(nil), want) == 1
}

// finish checks size and hash, then moves the file into place.
func (d *Downloader) finish(p *partial) (string, error) {
	if err := p.check.Done(); err != nil {
		d.discard(p)
		return "", err
	}
	if err := p.f.Sync(); err != nil {
		return "", reject(ReasonDownload, err, "file %q: sync", p.entry.Name)
	}
	p.close()
	final := d.Path(p.entry)
	if err := os.Rename(d.partPath(p.entry), final); err != nil {
		return "", reject(ReasonDownload, err, "file %q: move into place", p.entry.Name)
	}
	syncDir(d.cfg.Dir)
	if err := d.cfg.Progress.DeleteProgress(p.entry.Name); err != nil {
		d.cfg.Logger.Warn("download progress not deleted", "file", p.entry.Name, "err", err)
	}
	d.cfg.Logger.Info("download verified", "file", p.entry.Name, "bytes", p.entry.SizeInBytes)
	return final, nil
}

// Discard removes entry's partial and verified files and its progress.
func (d *Downloader) Discard(entry FileEntry) error {
	errs := []error{d.cfg.Progress.DeleteProgress(entry.Name)}
	for _, path := range []string{d.partPath(entry), d.Path(entry)} {
		if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func (d *Downloader) discard(p *partial) {
	p.close()
	if err := d.Discard(p.entry); err != nil {
		d.cfg.Logger.Warn("bad download not fully removed", "file", p.entry.Name, "err", err)
	}
}

// syncDir makes a rename in dir durable (a no-op where directories cannot
// be synced, as on Windows).
func syncDir(dir string) {
	if f, err := os.Open(dir); err == nil {
		_ = f.Sync()
		f.Close()
	}
}
