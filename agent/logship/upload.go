package logship

import (
	"bytes"
	"context"
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/cloudpillar/cloudpillar/agent/backoff"
)

// maxRepairs bounds attempts to re-stage blocks the blob endpoint lost.
const maxRepairs = 3

// upload drives one session to a committed blob and a success
// notification. It is run by the Shipper's runner goroutine only.
type upload struct {
	sh *Shipper
	s  *session
	h  hashes
	bo *backoff.Backoff
	// pending is the encoded block len(s.Blocks) while it is being put;
	// kept across retries and pauses so the content digest (updated while
	// encoding) counts it once.
	pending *encoded
	repairs int
	onBlock func() // progress, after each staged block
}

// run returns nil once the blob is committed and the hub notified, or the
// error that failed the file. Cancelling ctx stops it with ctx's error,
// leaving the session persisted for a later run.
func (u *upload) run(ctx context.Context) error {
	h, err := u.s.hashes()
	if err != nil {
		return fmt.Errorf("%w: %w", errStore, err)
	}
	u.h = h
	for {
		if err := u.sh.holdForGuard(ctx, u.s.Job); err != nil {
			return err
		}
		var done bool
		err := u.step(ctx, &done)
		if err == nil {
			u.bo.Reset()
			u.s.Failing = time.Time{}
			if done {
				return nil
			}
			continue
		}
		if err := u.handle(ctx, err); err != nil {
			return err
		}
	}
}

// step does the next thing the session needs.
func (u *upload) step(ctx context.Context, done *bool) error {
	s := u.s
	if err := u.ensureLink(ctx); err != nil {
		return err
	}
	switch {
	case s.Phase == phaseCommitted:
		rctx, cancel := u.reqCtx(ctx, 0)
		defer cancel()
		if err := u.sh.client.notify(rctx, s.Link.CorrelationID, true, 200, "uploaded"); err != nil {
			return err
		}
		*done = true
		return nil
	case len(s.Blocks) == 0 || s.Next < s.File.Size: // an empty file still gets one (empty) gzip member
		return u.stage(ctx)
	}
	return u.commit(ctx)
}

// ensureLink asks the hub for a SAS URI when the session has none (new,
// or dropped after the blob endpoint refused the old one: renewal for the
// same blob name, staged blocks reused). Expiry is not judged by the
// device's clock, which may be skewed: the endpoint's 403 decides.
func (u *upload) ensureLink(ctx context.Context) error {
	s := u.s
	if s.Link != nil {
		return nil
	}
	rctx, cancel := u.reqCtx(ctx, 0)
	defer cancel()
	l, err := u.sh.client.start(rctx, s.Blob)
	if err != nil {
		return err
	}
	s.Link = &l
	return s.put(u.sh.cfg.Store)
}

// stage encodes (once) and puts block len(s.Blocks), then records it.
func (u *upload) stage(ctx context.Context) error {
	s := u.s
	i := len(s.Blocks)
	if u.pending == nil {
		b, err := u.encode(ctx, s.Next, s.File.Size-s.Next, u.sh.cfg.MaxBlockSource, u.h.content)
		if err != nil {
			return err
		}
		u.pending = &b
	}
	if i < s.Tried && i >= s.ResentTo { // a block counts once however often it is retried
		s.Resent, s.ResentTo = s.Resent+1, i+1
	}
	s.Tried = max(s.Tried, i+1)
	b := u.pending
	if err := u.put(ctx, blockID(i), b.data); err != nil {
		return err
	}
	sum := sha256.Sum256(b.data)
	u.h.sha.Write(b.data)
	u.h.md5.Write(b.data)
	s.Blocks = append(s.Blocks, blockRec{ID: blockID(i), SrcLen: b.srcLen, Size: len(b.data), SHA256: hex.EncodeToString(sum[:])})
	s.Next += b.srcLen
	s.Sent += int64(len(b.data))
	s.Redactions += b.redactions
	s.save(u.h)
	u.pending = nil
	if err := s.put(u.sh.cfg.Store); err != nil {
		return err
	}
	u.onBlock()
	return nil
}

// encode makes the block covering source bytes [off, off+n), at most
// maxSrc of them.
func (u *upload) encode(ctx context.Context, off, n, maxSrc int64, content io.Writer) (encoded, error) {
	sec, err := u.s.File.open(u.sh.open, off, n)
	if err != nil {
		return encoded{}, err
	}
	defer sec.Close()
	text := u.s.Kind.text() && !u.s.Raw
	return u.sh.enc.encode(ctx, sec, text, maxSrc, content)
}

// put sends one block, abandoning it if a case starts meanwhile.
func (u *upload) put(ctx context.Context, id string, data []byte) error {
	pctx, stop := whileAllowed(ctx, u.sh.gate)
	defer stop()
	rctx, cancel := u.reqCtx(pctx, len(data))
	defer cancel()
	sum := md5.Sum(data)
	body := &throttled{ctx: rctx, r: bytes.NewReader(data), l: u.sh.limit}
	return u.sh.client.putBlock(rctx, *u.s.Link, id, body, len(data), sum[:])
}

// reqCtx bounds one request: the request timeout plus the time the
// bandwidth cap needs for size bytes.
func (u *upload) reqCtx(ctx context.Context, size int) (context.Context, context.CancelFunc) {
	d := u.sh.cfg.RequestTimeout
	if r := u.sh.limit.rate(); r > 0 {
		d += time.Duration(float64(size) / float64(r) * float64(time.Second))
	}
	return context.WithTimeout(ctx, d)
}

// commit puts the block list with the digests as metadata: sha256 of
// the uploaded (compressed) bytes, which the hub side checks the stored
// blob against, contentsha256 of what they decompress to, the source size
// and block count, and the configured source name and kind (no paths:
// names and values stay ASCII identifiers and numbers, never PHI).
func (u *upload) commit(ctx context.Context) error {
	s := u.s
	ids := make([]string, len(s.Blocks))
	for i, b := range s.Blocks {
		ids[i] = b.ID
	}
	meta := map[string]string{
		"sha256":        hex.EncodeToString(u.h.sha.Sum(nil)),
		"contentsha256": hex.EncodeToString(u.h.content.Sum(nil)),
		"sourcebytes":   strconv.FormatInt(s.File.Size, 10),
		"blocks":        strconv.Itoa(len(s.Blocks)),
		"source":        s.Source,
		"kind":          string(s.Kind),
	}
	rctx, cancel := u.reqCtx(ctx, 0)
	defer cancel()
	err := u.sh.client.putBlockList(rctx, *s.Link, ids, u.h.md5.Sum(nil), meta)
	if err != nil {
		return err
	}
	s.Phase = phaseCommitted
	return s.put(u.sh.cfg.Store)
}

// handle decides what to do after a failed step: nil to try again (after
// a wait, if one is due), or the error that fails the file.
func (u *upload) handle(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	switch classify(err) {
	case actPause:
		return nil // run holds for the guard before the next step
	case actFail:
		return err
	case actRenew:
		// Close the refused upload (best effort) so it does not hold one of
		// the device's ten slots until its SAS expires; then ask anew.
		if u.s.Link != nil {
			u.sh.notifyFailure(ctx, u.s.Link.CorrelationID, err)
		}
		u.s.Link = nil
	case actReopen:
		u.s.Link = nil
	case actRepair:
		if u.repairs++; u.repairs > maxRepairs {
			return fmt.Errorf("blocks lost again after %d repairs: %w", maxRepairs, err)
		}
		if rerr := u.repair(ctx); rerr != nil {
			return u.handle(ctx, rerr)
		}
		return nil // commit again
	}
	var se *StatusError
	if !errors.As(err, &se) {
		u.sh.client.close() // a pooled connection may be the dead one: dial afresh
	}
	now := u.sh.cfg.Now()
	if u.s.Failing.IsZero() {
		u.s.Failing = now
	}
	if now.Sub(u.s.Failing) > u.sh.cfg.GiveUpAfter {
		return fmt.Errorf("%w after %v: %w", ErrGaveUp, u.sh.cfg.GiveUpAfter, err)
	}
	d := max(u.bo.Next(), floorAfter(err, u.sh.cfg.ThrottleFloor, u.sh.cfg.AuthFloor))
	u.sh.retrying(u.s.Job, err, d)
	return backoff.Sleep(ctx, d)
}

// repair re-stages the blocks the blob endpoint no longer holds (a hub
// reset lost its uncommitted blocks), regenerating each from its source
// offset. A regenerated block that differs from the recorded one (the
// file was rewritten in place) restarts the file from its first block.
func (u *upload) repair(ctx context.Context) error {
	s := u.s
	rctx, cancel := u.reqCtx(ctx, 0)
	present, err := u.sh.client.uncommitted(rctx, *s.Link)
	cancel()
	if err != nil {
		return err
	}
	var off int64
	for i, b := range s.Blocks {
		start := off
		off += b.SrcLen
		if present[b.ID] {
			continue
		}
		blk, err := u.encode(ctx, start, b.SrcLen, b.SrcLen, io.Discard)
		if err != nil {
			return err
		}
		if sum := sha256.Sum256(blk.data); hex.EncodeToString(sum[:]) != b.SHA256 || blk.srcLen != b.SrcLen {
			u.sh.log.Warn("regenerated block differs; restarting the file", "job", s.Job, "block", i)
			return u.restart()
		}
		s.Resent++
		if err := u.put(ctx, b.ID, blk.data); err != nil {
			return err
		}
	}
	return nil
}

// restart forgets every staged block: the file is uploaded again from the
// start under the same blob name.
func (u *upload) restart() error {
	s := u.s
	s.Resent += len(s.Blocks)
	s.Blocks, s.Next, s.Sent, s.Redactions = nil, 0, 0, 0
	s.Hash, s.MD5, s.Content = nil, nil, nil
	u.h = newHashes()
	u.pending = nil
	return s.put(u.sh.cfg.Store)
}
