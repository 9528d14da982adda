package update

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"

	"github.com/cloudpillar/cloudpillar/agent/guard"
)

// Root key package limits.
const (
	// MaxRootPackageBytes caps a root key package: a root set (at most
	// MaxRootsBytes) and its rotation signatures. A larger answer is
	// refused with ReasonOversize without reading the rest (endless data).
	MaxRootPackageBytes = 128 << 10
	// MaxRootRotations caps the accepted packages kept and replayed at
	// start; past it a rotation is refused (ReasonRootPackage) until an
	// agent release ships newer built-in roots.
	MaxRootRotations = 32
	// rootPackageTimeout bounds fetching one package.
	rootPackageTimeout = time.Minute
)

// RootPackage is a root key package, what a deployment's
// rootKeyPackageUrl serves: a new root set (the JSON ParseRoots reads) and
// detached compact JWS signatures over it, by the current root keys and
// by the new set's own (Roots.Rotate):
//
//	{"roots": {"version": 2, "threshold": 1, "keys": [...]},
//	 "signatures": ["<protected>..<signature>", ...]}
//
// The signatures cover the bytes of the "roots" value exactly as they
// appear in the package, so a package must not be re-formatted after it
// is signed (updatetest.RotationPackage builds one).
type RootPackage struct {
	Roots      json.RawMessage `json:"roots"`
	Signatures []string        `json:"signatures"`
}

// ParseRootPackage decodes a root key package strictly (no unknown
// fields, no trailing data, at most MaxRootPackageBytes). It does not
// verify it: Roots.Rotate does.
func ParseRootPackage(data []byte) (RootPackage, error) {
	if len(data) > MaxRootPackageBytes {
		return RootPackage{}, reject(ReasonOversize, nil, "root key package is %d bytes, cap %d", len(data), MaxRootPackageBytes)
	}
	var p RootPackage
	if err := decodeStrict(data, &p); err != nil {
		return RootPackage{}, reject(ReasonRootPackage, err, "root key package is not {\"roots\", \"signatures\"}")
	}
	if len(p.Roots) == 0 || bytes.Equal(p.Roots, []byte("null")) {
		return RootPackage{}, reject(ReasonRootPackage, nil, "root key package has no root set")
	}
	return p, nil
}

// RootStore persists the root key packages the Manager accepted, oldest
// first, so that a restart trusts the rotated roots. *RecordStore is one.
type RootStore interface {
	LoadRootPackages() (pkgs [][]byte, ok bool, err error)
	SaveRootPackages(pkgs [][]byte) error
}

// Roots returns the root set in force: the built-in one or the latest
// rotation.
func (m *Manager) Roots() Roots { return m.currentVerifier().Roots() }

// RootsProblem says why persisted rotated roots were not (all) trusted at
// start ("" if they were, or there were none); the agent raises it as an
// alert.
func (m *Manager) RootsProblem() string { return m.rootsProblem }

// loadRoots replays the persisted root key packages over the built-in
// roots. A record that cannot be read or a package that does not verify
// is reported (RootsProblem, the log, the audit log) and the roots reached
// before it stay in force: never a failure that stops the agent.
func (m *Manager) loadRoots() {
	if m.rootStore == nil {
		return
	}
	base := m.verifier.Roots()
	pkgs, ok, err := m.rootStore.LoadRootPackages()
	if err == nil && !ok {
		return
	}
	roots, kept := base, [][]byte(nil)
	if err == nil {
		roots, kept, err = replayRoots(base, pkgs)
	}
	m.chain = kept
	if roots.Version() > base.Version() {
		m.verifier = m.verifier.WithRoots(roots)
		m.log.Info("update roots: rotated set in force", "version", roots.Version(), "builtIn", base.Version())
	}
	if err != nil {
		m.rootsProblem = fmt.Sprintf("persisted update roots ignored past v%d: %v", roots.Version(), err)
		m.log.Error("update roots: persisted rotation ignored", "inForce", roots.Version(), "err", err)
		m.audit(guard.AuditEntry{At: m.cfg.Now(), Action: AuditAction, Decision: AuditRootsIgnored, Reason: err.Error(),
			Details: map[string]any{"rootsVersion": roots.Version(), "builtInVersion": base.Version()}})
	}
}

// replayRoots re-verifies persisted packages from base, in order: each
// must rotate the roots reached so far. A package whose set is not above
// them (superseded by newer built-in roots) is skipped and dropped. It
// returns the roots reached, the packages that still count, and why it
// stopped early.
func replayRoots(base Roots, pkgs [][]byte) (Roots, [][]byte, error) {
	cur, kept := base, [][]byte(nil)
	for i, raw := range pkgs {
		p, err := ParseRootPackage(raw)
		if err != nil {
			return cur, kept, fmt.Errorf("package %d: %w", i+1, err)
		}
		if set, err := ParseRoots(p.Roots); err == nil && set.Version() <= cur.Version() {
			continue
		}
		next, err := cur.Rotate(p.Roots, p.Signatures)
		if err != nil {
			return cur, kept, fmt.Errorf("package %d: %w", i+1, err)
		}
		cur, kept = next, append(kept, raw)
	}
	return cur, kept, nil
}

// rotateRoots fetches the root key package at rawURL and rotates the
// trusted roots to it, persisting it before it is used. A package that
// holds the roots in force changes nothing (the service names the same
// package in every deployment). Errors are *Error: they reject the
// deployment.
func (m *Manager) rotateRoots(ctx context.Context, rawURL string) error {
	raw, err := fetchRootPackage(ctx, m.dl.cfg.Client, rawURL)
	if err != nil {
		return err
	}
	p, err := ParseRootPackage(raw)
	if err != nil {
		return err
	}
	cur := m.Roots()
	if set, err := ParseRoots(p.Roots); err == nil && set.equal(cur) {
		return nil
	}
	next, err := cur.Rotate(p.Roots, p.Signatures)
	if err != nil {
		return rootPackageError(err)
	}
	if err := m.persistRotation(raw); err != nil {
		return err
	}
	m.mu.Lock()
	m.verifier = m.verifier.WithRoots(next)
	m.mu.Unlock()
	m.log.Warn("update audit: roots rotated", "from", cur.Version(), "to", next.Version(), "keys", next.KeyIDs())
	m.audit(guard.AuditEntry{At: m.cfg.Now(), Action: AuditAction, Decision: AuditRootsRotated,
		Details: map[string]any{"fromVersion": cur.Version(), "toVersion": next.Version(), "rootKeys": next.KeyIDs()}})
	return nil
}

// persistRotation saves the chain with raw appended.
func (m *Manager) persistRotation(raw []byte) error {
	switch {
	case m.rootStore == nil:
		return reject(ReasonRootPackage, nil, "root key package: this agent has no store for rotated roots")
	case len(m.chain) >= MaxRootRotations:
		return reject(ReasonRootPackage, nil, "root key package: %d rotations kept, cap %d; update the agent", len(m.chain), MaxRootRotations)
	}
	chain := append(append([][]byte(nil), m.chain...), raw)
	if err := m.rootStore.SaveRootPackages(chain); err != nil {
		return reject(ReasonRootPackage, err, "root key package: not persisted, so not used")
	}
	m.chain = chain
	return nil
}

// rootPackageError says that a rotation's failure came from the root key
// package, keeping its Reason.
func rootPackageError(err error) error {
	var e *Error
	if errors.As(err, &e) {
		return &Error{Reason: e.Reason, Detail: "root key package: " + e.Detail, Err: e.Err}
	}
	return reject(ReasonRootPackage, err, "root key package")
}

// fetchRootPackage GETs the package at rawURL, reading at most
// MaxRootPackageBytes+1 bytes.
func fetchRootPackage(ctx context.Context, client *http.Client, rawURL string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, rootPackageTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, rawURL, nil)
	if err != nil {
		return nil, reject(ReasonRootPackage, nil, "root key package URL does not parse")
	}
	resp, err := client.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // the URL may carry a SAS token: keep it out of the twin
		}
		return nil, reject(ReasonRootPackage, err, "root key package: fetch failed")
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode != http.StatusOK:
		return nil, reject(ReasonRootPackage, nil, "root key package: HTTP %d", resp.StatusCode)
	case resp.ContentLength > MaxRootPackageBytes:
		return nil, reject(ReasonOversize, nil, "root key package: %d bytes, cap %d", resp.ContentLength, MaxRootPackageBytes)
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, MaxRootPackageBytes+1))
	if err != nil {
		return nil, reject(ReasonRootPackage, err, "root key package: read failed")
	}
	if len(data) > MaxRootPackageBytes {
		return nil, reject(ReasonOversize, nil, "root key package: more than %d bytes", MaxRootPackageBytes)
	}
	return data, nil
}
