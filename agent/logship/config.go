package logship

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"path/filepath"
	"regexp"
	"time"

	"github.com/cloudpillar/cloudpillar/agent/backoff"
)

// Defaults for Config fields left zero.
const (
	DefaultAPIVersion     = "2020-03-13"
	MaxBlockSize          = 4 << 20 // Put Block body limit this package keeps to (issue 6)
	DefaultBlockSize      = MaxBlockSize
	DefaultMaxBlockSource = 64 << 20
	DefaultRequestTimeout = 60 * time.Second
	DefaultGiveUpAfter    = 24 * time.Hour
	DefaultThrottleFloor  = 10 * time.Second
	DefaultAuthFloor      = 60 * time.Second
	DefaultKeepJobs       = 5
	DefaultMaxFiles       = 1000
	DefaultTriggerWindow  = time.Hour
	DefaultTriggerEvery   = 15 * time.Minute
)

// Kind says what a source holds and how it is treated.
type Kind string

// Kinds of sources.
const (
	KindDeviceLog  Kind = "deviceLog"  // the medical device's text logs, rotated by the device
	KindAgentLog   Kind = "agentLog"   // this agent's own text logs
	KindAuditLog   Kind = "auditLog"   // the patient-first audit log (JSON lines)
	KindCaseExport Kind = "caseExport" // case data exported by the device: binary, never redacted
)

// text reports whether files of the kind are text logs (redacted, cut at
// line ends).
func (k Kind) text() bool { return k != KindCaseExport }

// Source is one configured set of files.
type Source struct {
	// Name identifies the source in requests ("sources": ["device"]) and
	// in blob names. Letters, digits, '-' and '_'.
	Name string
	Kind Kind
	// Root is the folder the source's files must lie in; a file (or a
	// symlink's target) outside it is never uploaded.
	Root string
	// Patterns are filepath.Match patterns relative to Root ("*.log",
	// "app/*.log*"). For KindCaseExport, Root is walked recursively and a
	// pattern matches a file's base name. Empty: every file.
	Patterns []string
	// Retention: files last modified longer ago than this are never
	// selected, whatever the requested range (the device may purge them at
	// any moment). Zero: no limit.
	Retention time.Duration
	// Raw turns redaction off for a text source (the audit log, say).
	Raw bool
}

// DialFunc opens the raw (pre-TLS) connection; same shape as hub.DialFunc,
// so the agent passes the dialer its hub session uses (and devsim the
// chaos network's).
type DialFunc func(ctx context.Context, network, addr string) (net.Conn, error)

// Config is a Shipper's settings. Zero values take the defaults stated.
type Config struct {
	DeviceID string
	// HostName is the hub's logical host name: the URL host of the file
	// upload API and the TLS server name. Empty: not known yet (a device
	// provisioned through DPS); jobs wait, retrying, until SetHub names it.
	HostName string
	// Address is the host:port to dial for HostName. Default HostName:443.
	Address string
	// RootCAs are the trusted CAs for the hub and blob endpoints; nil =
	// system roots.
	RootCAs *x509.CertPool
	// Certificate is the device's X.509 client certificate (also
	// replaceable at run time with SetCertificate).
	Certificate tls.Certificate
	Dial        DialFunc // nil: plain TCP
	APIVersion  string   // default DefaultAPIVersion

	Sources []Source
	// Redactor rewrites text logs before upload. Nil: DefaultPatterns.
	Redactor *Redactor
	// Store persists jobs and upload sessions (the agent passes its
	// outbox.Store). Nil: an in-memory store (nothing resumes after a
	// restart).
	Store SessionStore
	// Waiter is the patient-first gate (*guard.Gate). Nil: never waits
	// (tests only; the agent always passes its gate).
	Waiter Waiter
	// OnStatus receives every change of a job's status for the twin
	// (logUploads.<jobId>); a nil status means the job was forgotten
	// (report null). It is called from the Shipper's goroutines, one call
	// at a time; it must be quick and must not call back into the Shipper.
	OnStatus func(jobID string, status map[string]any)

	// BlockSize is the most compressed bytes in one block. Default and
	// maximum MaxBlockSize (4 MiB).
	BlockSize int
	// MaxBlockSource bounds the source bytes one block covers (highly
	// compressible files). Default 64 MiB.
	MaxBlockSource int64
	// BytesPerSecond caps upload bandwidth at all times (SetBandwidth
	// changes it). Zero: no cap.
	BytesPerSecond int64
	// RequestTimeout bounds one HTTP request, plus the time the bandwidth
	// cap needs for its body. Default 60 s.
	RequestTimeout time.Duration
	// Backoff shapes retry delays. Default base 1 s, cap 60 s.
	Backoff backoff.Policy
	// ThrottleFloor is the least wait after the hub answered 403006 or
	// 429. Default 10 s.
	ThrottleFloor time.Duration
	// AuthFloor is the least wait after 401. Default 60 s.
	AuthFloor time.Duration
	// GiveUpAfter: a file whose upload makes no progress for this long
	// fails. Default 24 h.
	GiveUpAfter time.Duration
	// KeepJobs is how many finished jobs stay reported. Default 5.
	KeepJobs int
	// MaxFiles bounds the files of one job. Default 1000.
	MaxFiles int
	// TriggerSources are uploaded by Trigger; empty: every text source.
	TriggerSources []string
	// TriggerWindow is how far back Trigger reaches. Default 1 h.
	TriggerWindow time.Duration
	// TriggerEvery is the least time between two triggered uploads.
	// Default 15 min.
	TriggerEvery time.Duration

	Now    func() time.Time                     // nil: time.Now
	After  func(time.Duration) <-chan time.Time // nil: time.After (schedule timer)
	Rand   *rand.Rand                           // retry jitter; nil: randomly seeded
	Logger *slog.Logger                         // nil discards
}

var sourceName = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

func (c *Config) validate() error {
	switch {
	case c.DeviceID == "":
		return errors.New("logship config: device id is empty")
	case c.BlockSize < 0 || c.BlockSize > MaxBlockSize:
		return fmt.Errorf("logship config: block size %d outside 1..%d", c.BlockSize, MaxBlockSize)
	}
	seen := map[string]bool{}
	for i := range c.Sources {
		if err := c.Sources[i].validate(); err != nil {
			return err
		}
		if seen[c.Sources[i].Name] {
			return fmt.Errorf("logship config: source %q configured twice", c.Sources[i].Name)
		}
		seen[c.Sources[i].Name] = true
	}
	c.defaults()
	return nil
}

func (s *Source) validate() error {
	if !sourceName.MatchString(s.Name) {
		return fmt.Errorf("logship config: source name %q: letters, digits, '-' and '_' only", s.Name)
	}
	switch s.Kind {
	case KindDeviceLog, KindAgentLog, KindAuditLog, KindCaseExport:
	default:
		return fmt.Errorf("logship config: source %s: unknown kind %q", s.Name, s.Kind)
	}
	if s.Root == "" {
		return fmt.Errorf("logship config: source %s: no root folder", s.Name)
	}
	root, err := filepath.Abs(s.Root)
	if err != nil {
		return fmt.Errorf("logship config: source %s: %w", s.Name, err)
	}
	s.Root = root
	for _, p := range s.Patterns {
		if _, err := filepath.Match(p, ""); err != nil || filepath.IsAbs(p) {
			return fmt.Errorf("logship config: source %s: bad pattern %q", s.Name, p)
		}
	}
	return nil
}

func (c *Config) defaults() {
	if c.Address == "" && c.HostName != "" {
		c.Address = net.JoinHostPort(c.HostName, "443")
	}
	if c.APIVersion == "" {
		c.APIVersion = DefaultAPIVersion
	}
	if c.Redactor == nil {
		c.Redactor = MustRedactor(DefaultPatterns()...)
	}
	if c.Store == nil {
		c.Store = NewMemoryStore()
	}
	if c.OnStatus == nil {
		c.OnStatus = func(string, map[string]any) {}
	}
	if c.BlockSize == 0 {
		c.BlockSize = DefaultBlockSize
	}
	setDefault(&c.MaxBlockSource, DefaultMaxBlockSource)
	setDefault(&c.RequestTimeout, DefaultRequestTimeout)
	setDefault(&c.ThrottleFloor, DefaultThrottleFloor)
	setDefault(&c.AuthFloor, DefaultAuthFloor)
	setDefault(&c.GiveUpAfter, DefaultGiveUpAfter)
	setDefault(&c.KeepJobs, DefaultKeepJobs)
	setDefault(&c.MaxFiles, DefaultMaxFiles)
	setDefault(&c.TriggerWindow, DefaultTriggerWindow)
	setDefault(&c.TriggerEvery, DefaultTriggerEvery)
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.After == nil {
		c.After = time.After
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Dial == nil {
		var d net.Dialer
		c.Dial = d.DialContext
	}
	if len(c.TriggerSources) == 0 {
		for _, s := range c.Sources {
			if s.Kind.text() {
				c.TriggerSources = append(c.TriggerSources, s.Name)
			}
		}
	}
}

func setDefault[T int | int64 | time.Duration](v *T, d T) {
	if *v <= 0 {
		*v = d
	}
}

// source returns the configured source called name.
func (c *Config) source(name string) (Source, bool) {
	for _, s := range c.Sources {
		if s.Name == name {
			return s, true
		}
	}
	return Source{}, false
}
