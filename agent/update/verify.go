package update

import (
	"errors"
	"log/slog"
	"time"
)

// Hard caps on payload sizes. Config can lower them, never raise them.
const (
	HardMaxFileBytes  int64 = 8 << 30  // one file
	HardMaxTotalBytes int64 = 16 << 30 // all files of one update
)

// Device is what a manifest's compatibility must name.
type Device struct {
	Manufacturer string
	Model        string
	HardwareID   string
}

// Config builds a Verifier.
type Config struct {
	// Roots are the trusted root keys: the built-in set or the latest
	// rotated one. Required.
	Roots Roots
	// Device is this device; all three fields are required.
	Device Device
	// MaxFileBytes caps each file. Zero or above HardMaxFileBytes means
	// HardMaxFileBytes.
	MaxFileBytes int64
	// MaxTotalBytes caps the sum of an update's files. Zero or above
	// HardMaxTotalBytes means HardMaxTotalBytes.
	MaxTotalBytes int64
	// Logger receives a warning for every accepted downgrade. Nil discards.
	Logger *slog.Logger
}

// State is what is installed, as far as verification cares.
type State struct {
	// Counters maps an update line to the release counter installed from
	// it; a line never installed counts as 0.
	Counters map[string]uint64
}

// Counter returns the installed release counter of line.
func (s State) Counter(line string) uint64 { return s.Counters[line] }

// Verifier checks deployments against fixed roots and device. It is
// immutable and safe for concurrent use.
type Verifier struct {
	cfg Config
}

// NewVerifier validates cfg and applies the caps.
func NewVerifier(cfg Config) (*Verifier, error) {
	if cfg.Roots.Version() == 0 {
		return nil, errors.New("update verifier: no trusted roots")
	}
	d := cfg.Device
	if d.Manufacturer == "" || d.Model == "" || d.HardwareID == "" {
		return nil, errors.New("update verifier: device manufacturer, model and hardware id are required")
	}
	if cfg.MaxFileBytes <= 0 || cfg.MaxFileBytes > HardMaxFileBytes {
		cfg.MaxFileBytes = HardMaxFileBytes
	}
	if cfg.MaxTotalBytes <= 0 || cfg.MaxTotalBytes > HardMaxTotalBytes {
		cfg.MaxTotalBytes = HardMaxTotalBytes
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &Verifier{cfg: cfg}, nil
}

// WithRoots returns a Verifier like v that trusts r instead (a root
// rotation).
func (v *Verifier) WithRoots(r Roots) *Verifier {
	cfg := v.cfg
	cfg.Roots = r
	return &Verifier{cfg: cfg}
}

// Roots returns the roots the Verifier trusts.
func (v *Verifier) Roots() Roots { return v.cfg.Roots }

// Verify checks a deployment before anything else is done with it: the
// action, the signature chain, the manifest, freshness at now,
// compatibility, file entries and caps, file URLs, and the release
// counter against installed. It returns the manifest with its Provenance,
// or an *Error. It does no I/O.
func (v *Verifier) Verify(su ServiceUpdate, now time.Time, installed State) (*Manifest, error) {
	if su.Workflow.Action != ActionApply {
		return nil, reject(ReasonBadAction, nil, "workflow action %d is not apply (%d)", su.Workflow.Action, ActionApply)
	}
	if len(su.UpdateManifest) > MaxManifestBytes {
		return nil, reject(ReasonOversize, nil, "manifest is %d bytes, cap %d", len(su.UpdateManifest), MaxManifestBytes)
	}
	prov, err := v.cfg.Roots.verifyManifestSignature([]byte(su.UpdateManifest), su.UpdateManifestSignature)
	if err != nil {
		return nil, err
	}
	m, err := parseManifest([]byte(su.UpdateManifest))
	if err != nil {
		return nil, err
	}
	m.Provenance = prov
	for _, check := range []func(*Manifest) error{
		func(m *Manifest) error { return checkFresh(m, now) },
		v.checkCompatible,
		v.checkSizes,
		func(m *Manifest) error { return checkURLs(m, su.FileURLs) },
		func(m *Manifest) error { return v.checkCounter(m, installed) },
	} {
		if err := check(m); err != nil {
			return nil, err
		}
	}
	return m, nil
}

func checkFresh(m *Manifest, now time.Time) error {
	if !now.Before(m.Expires) {
		return reject(ReasonExpired, nil, "manifest %s expired at %s (now %s)", m.UpdateID.Version,
			m.Expires.UTC().Format(time.RFC3339), now.UTC().Format(time.RFC3339))
	}
	return nil
}

func (v *Verifier) checkCompatible(m *Manifest) error {
	d := v.cfg.Device
	for _, c := range m.Compatibility {
		if c.Manufacturer == d.Manufacturer && c.Model == d.Model && c.HardwareID == d.HardwareID {
			return nil
		}
	}
	return reject(ReasonIncompatible, nil, "none of %d compatibility entries is manufacturer %q model %q hardwareId %q",
		len(m.Compatibility), d.Manufacturer, d.Model, d.HardwareID)
}

func (v *Verifier) checkSizes(m *Manifest) error {
	var total int64
	for _, f := range m.Files {
		if f.SizeInBytes > v.cfg.MaxFileBytes {
			return reject(ReasonFileTooLarge, nil, "file %q is %d bytes, cap %d", f.Name, f.SizeInBytes, v.cfg.MaxFileBytes)
		}
		total += f.SizeInBytes // at most MaxFiles * HardMaxFileBytes: no overflow
	}
	if total > v.cfg.MaxTotalBytes {
		return reject(ReasonFileTooLarge, nil, "files total %d bytes, cap %d", total, v.cfg.MaxTotalBytes)
	}
	return nil
}

// checkURLs requires exactly one URL per manifest file: nothing the signed
// manifest does not list is fetched (TUF: extraneous dependencies).
func checkURLs(m *Manifest, urls map[string]string) error {
	listed := make(map[string]bool, len(m.Files))
	for _, f := range m.Files {
		listed[f.URLKey()] = true
		if urls[f.URLKey()] == "" {
			return reject(ReasonFileURLMismatch, nil, "no URL for file %q (key %q)", f.Name, f.URLKey())
		}
	}
	for key := range urls {
		if !listed[key] {
			return reject(ReasonFileURLMismatch, nil, "URL for %q, which the manifest does not list", key)
		}
	}
	return nil
}

// checkCounter enforces rollback protection; a signed downgrade passes and
// is flagged and logged.
func (v *Verifier) checkCounter(m *Manifest, installed State) error {
	prev := installed.Counter(m.Line)
	m.Provenance.InstalledCounter = prev
	if m.ReleaseCounter > prev {
		return nil
	}
	if !m.Downgrade {
		return reject(ReasonRollback, nil, "release counter %d on line %q is not above the installed %d",
			m.ReleaseCounter, m.Line, prev)
	}
	m.Provenance.IsDowngrade = true
	v.cfg.Logger.Warn("accepting signed downgrade", "line", m.Line, "releaseCounter", m.ReleaseCounter,
		"installedCounter", prev, "version", m.UpdateID.Version, "signingKey", m.Provenance.SigningKeyID)
	return nil
}
