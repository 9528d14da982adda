package update

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/cloudpillar/cloudpillar/agent/guard"
)

// partial is one file being downloaded: the .part file, its checker, and
// how much of it the last progress record covers.
type partial struct {
	entry FileEntry
	f     *os.File
	check *FileChecker
	etag  string
	saved int64
}

func (p *partial) close() {
	if p.f != nil {
		p.f.Close()
		p.f = nil
	}
}

// reset starts the file over.
func (p *partial) reset() error {
	if err := p.f.Truncate(0); err != nil {
		return err
	}
	if _, err := p.f.Seek(0, io.SeekStart); err != nil {
		return err
	}
	p.check, p.etag, p.saved = NewFileChecker(p.entry), "", 0
	return nil
}

// write hashes b and appends what the checker accepted to the file.
func (p *partial) write(b []byte) error {
	n, cerr := p.check.Write(b)
	if _, err := p.f.Write(b[:n]); err != nil {
		return fmt.Errorf("write %q: %w", p.entry.Name, err)
	}
	return cerr
}

// open opens the .part file and resumes from the progress record if the
// record is for the same content and the file holds what it says.
func (d *Downloader) open(entry FileEntry) (*partial, error) {
	f, err := os.OpenFile(d.partPath(entry), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, reject(ReasonDownload, err, "file %q: open", entry.Name)
	}
	p := &partial{entry: entry, f: f}
	rec, ok, err := d.cfg.Progress.LoadProgress(entry.Name)
	if err != nil {
		p.close()
		return nil, err
	}
	if ok && rec.SHA256 == entry.Hashes.SHA256 && rec.Size == entry.SizeInBytes {
		err := p.resume(rec)
		if err == nil {
			d.cfg.Logger.Info("download resumes", "file", entry.Name, "done", rec.Done, "size", entry.SizeInBytes)
			return p, nil
		}
		d.cfg.Logger.Warn("download progress unusable; starting over", "file", entry.Name, "err", err)
	}
	if err := p.reset(); err != nil {
		p.close()
		return nil, reject(ReasonDownload, err, "file %q: reset", entry.Name)
	}
	return p, nil
}

func (p *partial) resume(rec ProgressRecord) error {
	st, err := p.f.Stat()
	if err != nil {
		return err
	}
	if st.Size() < rec.Done {
		return fmt.Errorf("partial file has %d bytes, progress says %d", st.Size(), rec.Done)
	}
	c, err := ResumeFileChecker(p.entry, rec.Done, rec.HashState)
	if err != nil {
		return err
	}
	if err := p.f.Truncate(rec.Done); err != nil {
		return err
	}
	if _, err := p.f.Seek(rec.Done, io.SeekStart); err != nil {
		return err
	}
	p.check, p.etag, p.saved = c, rec.ETag, rec.Done
	return nil
}

// checkpoint syncs the file and then records the progress, so the record
// never claims bytes the disk may not have.
func (d *Downloader) checkpoint(p *partial) error {
	done := p.check.Written()
	if done == p.saved {
		return nil
	}
	state, err := p.check.State()
	if err != nil {
		return nil // the checker failed: there is nothing worth resuming
	}
	if err := p.f.Sync(); err != nil {
		return reject(ReasonDownload, err, "file %q: sync", p.entry.Name)
	}
	rec := ProgressRecord{SHA256: p.entry.Hashes.SHA256, Size: p.entry.SizeInBytes, Done: done, HashState: state, ETag: p.etag}
	if err := d.cfg.Progress.SaveProgress(p.entry.Name, rec); err != nil {
		return err
	}
	p.saved = done
	return nil
}

// errSlow cancels a request whose transfer fell below the minimum rate.
var errSlow = errors.New("transfer below the minimum rate")

// errRetry marks a failed request worth retrying.
type errRetry struct{ err error }

func (e errRetry) Error() string { return e.err.Error() }
func (e errRetry) Unwrap() error { return e.err }

// request makes one GET from where p stands and copies the body into p.
// It returns nil once the body ended with the file complete, ErrPaused if
// the guard stopped it, an *Error for bad content or slow retrieval, and
// any other error for something worth retrying.
func (d *Downloader) request(ctx context.Context, p *partial, url string) error {
	gctx, stopGuard := whileAllowed(ctx, d.cfg.Gate, guard.Download)
	defer stopGuard()
	var got atomic.Int64
	rctx, stopRate := d.watchRate(gctx, &got)
	defer stopRate()
	req, err := http.NewRequestWithContext(rctx, http.MethodGet, url, nil)
	if err != nil {
		return reject(ReasonDownload, nil, "file %q: the URL does not parse", p.entry.Name)
	}
	if done := p.check.Written(); done > 0 {
		req.Header.Set("Range", fmt.Sprintf("bytes=%d-", done))
		if p.etag != "" {
			req.Header.Set("If-Range", p.etag)
		}
	}
	resp, err := d.cfg.Client.Do(req)
	if err != nil {
		return d.cause(rctx, p, err)
	}
	defer resp.Body.Close()
	if err := d.accept(p, resp); err != nil {
		return err
	}
	return d.copyBody(rctx, p, resp.Body, &got)
}

// cause turns a request error into what stopped it: the guard, the rate
// check, or the error itself.
func (d *Downloader) cause(rctx context.Context, p *partial, err error) error {
	switch c := context.Cause(rctx); {
	case errors.Is(c, ErrPaused):
		return ErrPaused
	case errors.Is(c, errSlow):
		return reject(ReasonSlowDownload, nil, "file %q: less than %d bytes/s over %v", p.entry.Name, d.cfg.MinRate, d.cfg.RateWindow)
	case c != nil && rctx.Err() != nil:
		return c
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		// The URL may carry a SAS token: keep it out of logs and the twin.
		return fmt.Errorf("file %q: %s: %w", p.entry.Name, ue.Op, ue.Err)
	}
	return err
}

// accept checks the response status and range against where p stands.
func (d *Downloader) accept(p *partial, resp *http.Response) error {
	size, name := p.entry.SizeInBytes, p.entry.Name
	switch code := resp.StatusCode; {
	case code == http.StatusPartialContent:
		start, total, err := parseContentRange(resp.Header.Get("Content-Range"))
		switch {
		case err != nil:
			return errRetry{fmt.Errorf("file %q: %w", name, err)}
		case total >= 0 && total != size:
			return reject(ReasonFileSize, nil, "file %q: server has %d bytes, manifest declares %d", name, total, size)
		case start != p.check.Written():
			return errRetry{fmt.Errorf("file %q: server sent bytes from %d, asked from %d", name, start, p.check.Written())}
		}
	case code == http.StatusOK:
		if p.check.Written() > 0 {
			d.cfg.Logger.Info("server ignored the range; download starts over", "file", name)
			if err := p.reset(); err != nil {
				return reject(ReasonDownload, err, "file %q: reset", name)
			}
		}
	case code >= 500 || code == http.StatusRequestTimeout || code == http.StatusTooManyRequests:
		return errRetry{fmt.Errorf("file %q: HTTP %d", name, code)}
	default:
		return reject(ReasonDownload, nil, "file %q: HTTP %d", name, code)
	}
	if resp.ContentLength > size-p.check.Written() {
		return reject(ReasonFileSize, nil, "file %q: server sends %d bytes after %d, manifest declares %d in all",
			name, resp.ContentLength, p.check.Written(), size)
	}
	if etag := resp.Header.Get("ETag"); etag != "" && !strings.HasPrefix(etag, "W/") {
		p.etag = etag
	}
	return nil
}

// copyBody streams body into p, checkpointing every CheckpointBytes and
// asking the guard between chunks.
func (d *Downloader) copyBody(rctx context.Context, p *partial, body io.Reader, got *atomic.Int64) error {
	buf := make([]byte, chunkSize)
	for {
		if d.cfg.Gate.Check(guard.Download) != nil {
			return ErrPaused
		}
		n, rerr := body.Read(buf)
		if n > 0 {
			got.Add(int64(n))
			if err := p.write(buf[:n]); err != nil {
				return err
			}
			if p.check.Written()-p.saved >= d.cfg.CheckpointBytes {
				if err := d.checkpoint(p); err != nil {
					return err
				}
			}
		}
		switch {
		case rerr == io.EOF && p.check.Written() < p.entry.SizeInBytes:
			return errRetry{fmt.Errorf("file %q: body ended at %d of %d bytes", p.entry.Name, p.check.Written(), p.entry.SizeInBytes)}
		case rerr == io.EOF:
			return nil
		case rerr != nil:
			return d.cause(rctx, p, rerr)
		}
	}
}

// watchRate cancels the returned context with errSlow when fewer than
// MinRate*RateWindow bytes arrive in any RateWindow of real time.
func (d *Downloader) watchRate(ctx context.Context, got *atomic.Int64) (context.Context, func()) {
	wctx, cancel := context.WithCancelCause(ctx)
	done := make(chan struct{})
	need := int64(float64(d.cfg.MinRate) * d.cfg.RateWindow.Seconds())
	go func() {
		defer close(done)
		t := time.NewTicker(d.cfg.RateWindow)
		defer t.Stop()
		last := got.Load()
		for {
			select {
			case <-wctx.Done():
				return
			case <-t.C:
			}
			now := got.Load()
			if now-last < need {
				cancel(errSlow)
				return
			}
			last = now
		}
	}()
	return wctx, func() { cancel(nil); <-done }
}

// parseContentRange parses "bytes start-end/total" (total may be "*",
// returned as -1).
func parseContentRange(v string) (start, total int64, err error) {
	spec, ok := strings.CutPrefix(v, "bytes ")
	rng, tot, ok2 := strings.Cut(spec, "/")
	from, to, ok3 := strings.Cut(rng, "-")
	if !ok || !ok2 || !ok3 {
		return 0, 0, fmt.Errorf("bad Content-Range %q", v)
	}
	start, err1 := strconv.ParseInt(from, 10, 64)
	end, err2 := strconv.ParseInt(to, 10, 64)
	total = -1
	var err3 error
	if tot != "*" {
		total, err3 = strconv.ParseInt(tot, 10, 64)
	}
	if err1 != nil || err2 != nil || err3 != nil || start < 0 || end < start || (total >= 0 && end >= total) {
		return 0, 0, fmt.Errorf("bad Content-Range %q", v)
	}
	return start, total, nil
}
