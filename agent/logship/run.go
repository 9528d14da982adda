package logship

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/cloudpillar/cloudpillar/agent/backoff"
	"github.com/cloudpillar/cloudpillar/agent/guard"
)

// runJob selects the job's files (once) and uploads them in order. If ctx
// ends meanwhile the job stays persisted and unfinished.
func (s *Shipper) runJob(ctx context.Context, j *job, bo *backoff.Backoff) {
	if err := s.holdForGuard(ctx, j.ID); err != nil {
		return // not even the file selection runs during a case
	}
	if !j.Selected {
		if err := s.selectJob(j); err != nil {
			s.finish(j, err)
			return
		}
	}
	for i := range j.Files {
		if ctx.Err() != nil {
			return
		}
		if j.Files[i].State != filePending {
			continue
		}
		s.update(j, true, func(j *job) { j.State, j.Detail = StateUploading, "" })
		err := s.uploadFile(ctx, j, i, bo)
		if ctx.Err() != nil {
			return
		}
		s.fileDone(j, i, err)
		if err := s.persist(j); err != nil {
			s.finish(j, err)
			return
		}
	}
	s.finish(j, nil)
}

// selectJob lists the job's files and persists the list.
func (s *Shipper) selectJob(j *job) error {
	names := j.Sources
	if len(names) == 0 {
		for _, src := range s.cfg.Sources {
			names = append(names, src.Name)
		}
	}
	var files []fileResult
	for _, n := range names {
		name, sub := splitSource(n)
		src, _ := s.cfg.source(name)
		cs, err := selectFiles(src, sub, window{j.From, j.To}, s.cfg.Now())
		if err != nil {
			return err
		}
		for _, c := range cs {
			files = append(files, s.fileFor(j, c))
		}
	}
	if len(files) > s.cfg.MaxFiles {
		return fmt.Errorf("%d files selected, more than the limit of %d: narrow the time range", len(files), s.cfg.MaxFiles)
	}
	s.update(j, true, func(j *job) { j.Files, j.Selected = files, true })
	return s.persist(j)
}

func (s *Shipper) fileFor(j *job, c candidate) fileResult {
	f := fileResult{Source: c.Source, Kind: c.Kind, Rel: c.Rel, Path: c.Path, State: filePending}
	f.Blob = j.ID + "/" + c.Source + "/" + s.cfg.Redactor.String(c.Rel) + ".gz"
	if c.Reject != "" {
		f.State, f.Error, f.Path = fileRejected, c.Reject, ""
	}
	return f
}

// splitSource splits "name:path" into the source name and the path.
func splitSource(s string) (name, sub string) {
	name, sub, _ = strings.Cut(s, ":")
	return name, sub
}

// uploadFile runs file i's upload session (new, or resumed from the store).
func (s *Shipper) uploadFile(ctx context.Context, j *job, i int, bo *backoff.Backoff) error {
	f := j.Files[i]
	sess, ok, err := loadSession(s.cfg.Store, j.ID, i)
	if err != nil {
		return fmt.Errorf("%w: %w", errStore, err)
	}
	if !ok {
		snap, err := take(s.open, f.Path)
		if err != nil {
			return err
		}
		src, _ := s.cfg.source(f.Source)
		sess = &session{Job: j.ID, Index: i, Source: f.Source, Kind: f.Kind, Raw: src.Raw, Blob: f.Blob, File: snap, Phase: phaseStaging}
		if err := sess.put(s.cfg.Store); err != nil {
			return err
		}
	}
	s.update(j, true, func(j *job) { j.Files[i].SourceBytes = sess.File.Size })
	u := &upload{sh: s, s: sess, bo: bo, onBlock: func() {
		s.update(j, false, func(j *job) { j.Files[i].Bytes, j.Files[i].Resent = sess.Sent, sess.Resent })
	}}
	err = u.run(ctx)
	if ctx.Err() != nil {
		return ctx.Err()
	}
	s.update(j, false, func(j *job) { s.fill(&j.Files[i], sess, u) })
	if err != nil && sess.Link != nil {
		s.notifyFailure(ctx, sess.Link.CorrelationID, err)
	}
	if derr := s.cfg.Store.DeleteUpload(sessionKey(j.ID, i)); derr != nil {
		s.log.Warn("finished upload session not removed", "job", j.ID, "file", i, "err", derr)
	}
	return err
}

// fill copies a session's figures into the job's file result.
func (s *Shipper) fill(f *fileResult, sess *session, u *upload) {
	f.Bytes, f.SourceBytes, f.Redactions, f.Resent = sess.Sent, sess.File.Size, sess.Redactions, sess.Resent
	if sess.Phase == phaseCommitted {
		f.SHA256 = fmt.Sprintf("%x", u.h.sha.Sum(nil))
		f.ContentSHA256 = fmt.Sprintf("%x", u.h.content.Sum(nil))
	}
}

// notifyFailure tells the hub a failed upload is over (best effort), so
// it frees the device's upload slot before the SAS expires.
func (s *Shipper) notifyFailure(ctx context.Context, correlationID string, cause error) {
	rctx, cancel := context.WithTimeout(ctx, s.cfg.RequestTimeout)
	defer cancel()
	if err := s.client.notify(rctx, correlationID, false, 500, publicText(cause)); err != nil {
		s.log.Info("failure notification not delivered", "err", err)
	}
}

// fileDone records file i's outcome.
func (s *Shipper) fileDone(j *job, i int, err error) {
	s.update(j, true, func(j *job) {
		f := &j.Files[i]
		if err != nil {
			f.State, f.Error = fileFailed, publicText(err)
			s.log.Warn("log upload failed", "job", j.ID, "file", i, "err", err)
			return
		}
		f.State, f.Path = fileDone, ""
		s.stats.Files++
		s.stats.Bytes += f.Bytes
		s.stats.ResentBlocks += int64(f.Resent)
		s.stats.Redactions += int64(f.Redactions)
	})
}

// finish ends a job: done if every file was delivered, else failed with
// the first error; then old finished jobs beyond KeepJobs are forgotten.
func (s *Shipper) finish(j *job, err error) {
	s.update(j, true, func(j *job) {
		j.State, j.Detail, j.Finished = StateDone, "", s.cfg.Now().UTC()
		failed := 0
		for _, f := range j.Files {
			if f.State == fileFailed {
				if failed++; j.Error == "" {
					j.Error = f.Error
				}
			}
		}
		if failed > 0 {
			j.State, j.Error = StateFailed, fmt.Sprintf("%d of %d files failed; first: %s", failed, len(j.Files), j.Error)
		}
		if err != nil {
			j.State, j.Error = StateFailed, publicText(err)
		}
		if j.State == StateDone {
			s.stats.Done++
		} else {
			s.stats.Failed++
		}
	})
	if err := s.persist(j); err != nil {
		s.log.Error("finished job not stored", "job", j.ID, "err", err)
	}
	s.log.Info("log upload finished", "job", j.ID, "state", j.State, "error", j.Error)
	s.forgetOld()
}

func (s *Shipper) persist(j *job) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return j.put(s.cfg.Store)
}

// forgetOld drops finished jobs beyond KeepJobs, oldest first, from the
// store and (status nil) from the twin.
func (s *Shipper) forgetOld() {
	s.mu.Lock()
	var done []*job
	for _, j := range s.jobs {
		if j.finished() {
			done = append(done, j)
		}
	}
	sort.Slice(done, func(a, b int) bool { return done[a].Finished.Before(done[b].Finished) })
	var gone []string
	for len(done) > s.cfg.KeepJobs {
		gone = append(gone, done[0].ID)
		delete(s.jobs, done[0].ID)
		done = done[1:]
	}
	s.mu.Unlock()
	for _, id := range gone {
		if err := s.cfg.Store.DeleteUpload(jobKey(id)); err != nil {
			s.log.Warn("old job not removed", "job", id, "err", err)
		}
		s.report(id, true)
	}
}

// holdForGuard waits while the guard holds uploads, reporting the job as
// waiting with the guard's reason.
func (s *Shipper) holdForGuard(ctx context.Context, id string) error {
	if s.gate.Check(guard.Upload) == nil {
		return nil
	}
	j := s.job(id)
	err := hold(ctx, s.gate, func(reason string) {
		s.update(j, true, func(j *job) { j.State, j.Detail = StateWaiting, reason })
	})
	if err != nil {
		return err
	}
	s.update(j, true, func(j *job) { j.State, j.Detail = StateUploading, "" })
	return nil
}

// retrying reports a failed step that will be tried again after d.
func (s *Shipper) retrying(id string, err error, d time.Duration) {
	s.log.Info("log upload step failed; retrying", "job", id, "err", err, "retryIn", d.Round(time.Millisecond).String())
	s.update(s.job(id), true, func(j *job) {
		j.State, j.Detail = StateRetrying, publicText(err)
	})
}

func (s *Shipper) job(id string) *job {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.jobs[id]
}

// publicText is an error's text for the twin and the hub: the condition
// without file paths (which may name a patient), redaction applied.
func publicText(err error) string {
	for _, e := range []error{ErrSourceGone, ErrSourceTruncated, ErrOutsideRoot, ErrGaveUp} {
		if errors.Is(err, e) {
			return e.Error()
		}
	}
	var se *StatusError
	switch {
	case errors.As(err, &se):
		return clip(se.Error(), 300)
	case errors.Is(err, errRead):
		return "source file cannot be read"
	case errors.Is(err, errStore):
		return "device store failed: " + lastPart(err)
	}
	return clip(lastPart(err), 300)
}

// lastPart is the innermost part of a wrapped error's text ("no space left
// on device"), which carries no paths.
func lastPart(err error) string {
	for {
		switch u := err.(type) {
		case interface{ Unwrap() error }:
			if n := u.Unwrap(); n != nil {
				err = n
				continue
			}
		case interface{ Unwrap() []error }:
			if es := u.Unwrap(); len(es) > 0 {
				err = es[len(es)-1]
				continue
			}
		}
		return err.Error()
	}
}
