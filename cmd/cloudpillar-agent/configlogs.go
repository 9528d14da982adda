package main

import (
	"errors"
	"fmt"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/cloudpillar/cloudpillar/agent"
	"github.com/cloudpillar/cloudpillar/agent/logship"
)

// Names and limits of the logs section.
const (
	agentSourceName     = "agent" // the built-in source for logFile
	defaultRedactedText = "[REDACTED]"
	maxBytesPerSecond   = 1 << 30
	maxRetentionDays    = 3650
)

// sourceKinds maps the config's kinds onto logship's.
var sourceKinds = map[string]logship.Kind{
	"device": logship.KindDeviceLog,
	"agent":  logship.KindAgentLog,
	"audit":  logship.KindAuditLog,
	"case":   logship.KindCaseExport,
}

// sourceNameRE is logship's rule for source names.
var sourceNameRE = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

// logsFields is the logs section: log delivery to the hub's file upload
// (agent/logship), started by the uploadLogs direct method or the twin.
type logsFields struct {
	HTTPSAddress     string
	BytesPerSecond   int
	Sources          []*sourceFields
	Redaction        []*patternFields
	DefaultRedaction *bool // nil: true
}

// sourceFields is one set of files that may be uploaded.
type sourceFields struct {
	Name, Kind, Root, Glob string
	Patterns               []string
	RetentionDays          int
	Raw                    bool
}

// patternFields is one redaction pattern.
type patternFields struct {
	Name, Regex, Replace string
}

// logsFields enables log delivery: it is called when the key appears.
func (fc *fileConfig) logsFields() []field {
	fc.Logs = &logsFields{}
	l := fc.Logs
	return []field{
		{name: "httpsAddress", set: setChecked(&l.HTTPSAddress, checkHostPort)},
		{name: "bytesPerSecond", set: setInt(&l.BytesPerSecond, 0, maxBytesPerSecond)},
		{name: "sources", items: l.sourceFields},
		{name: "redaction", items: l.patternFields},
		{name: "defaultRedaction", set: func(n *yaml.Node) error {
			var b bool
			if err := setBool(&b)(n); err != nil {
				return err
			}
			l.DefaultRedaction = &b
			return nil
		}},
	}
}

func (l *logsFields) sourceFields() []field {
	s := &sourceFields{}
	l.Sources = append(l.Sources, s)
	return []field{
		{name: "name", set: setString(&s.Name)},
		{name: "kind", set: setEnum(&s.Kind, "device", "agent", "audit", "case")},
		{name: "root", set: setString(&s.Root)},
		{name: "glob", set: setString(&s.Glob)},
		{name: "patterns", set: setStrings(&s.Patterns, checkPattern)},
		{name: "retentionDays", set: setInt(&s.RetentionDays, 1, maxRetentionDays)},
		{name: "raw", set: setBool(&s.Raw)},
	}
}

func (l *logsFields) patternFields() []field {
	p := &patternFields{}
	l.Redaction = append(l.Redaction, p)
	return []field{
		{name: "name", set: setString(&p.Name)},
		{name: "regex", set: setString(&p.Regex)},
		{name: "replace", set: setString(&p.Replace)},
	}
}

// checkPattern accepts a file name pattern relative to a source's root.
func checkPattern(p string) error {
	if _, err := filepath.Match(p, ""); err != nil || p == "" || filepath.IsAbs(p) {
		return fmt.Errorf("%q is not a file name pattern relative to the source's root (such as *.log)", p)
	}
	return nil
}

// logsConfig maps the section onto agent.LogsConfig: the configured
// sources, then the built-in ones (logFile, the audit log), and the
// redaction patterns. No section: no log delivery.
func (fc *fileConfig) logsConfig(d *decoder, dir string, cfg *config) agent.LogsConfig {
	l := fc.Logs
	if l == nil {
		return agent.LogsConfig{}
	}
	lc := agent.LogsConfig{HTTPSAddress: l.HTTPSAddress, BytesPerSecond: int64(l.BytesPerSecond)}
	names, kinds := map[string]bool{}, map[logship.Kind]bool{}
	for i, sf := range l.Sources {
		path := fmt.Sprintf("logs.sources[%d]", i)
		src, ok := sf.source(d, path, dir)
		switch {
		case !ok:
		case names[src.Name]:
			d.fail(path+".name", "%q names another source too; names must be unique", src.Name)
		default:
			names[src.Name], kinds[src.Kind] = true, true
			lc.Sources = append(lc.Sources, src)
		}
	}
	lc.Sources = append(lc.Sources, builtinSources(cfg, names, kinds)...)
	lc.Redaction = l.redaction(d)
	return lc
}

// source checks one configured source.
func (sf *sourceFields) source(d *decoder, path, dir string) (logship.Source, bool) {
	n := len(d.errs)
	if sf.Name == "" {
		d.fail(path+".name", "is required")
	} else if !sourceNameRE.MatchString(sf.Name) {
		d.fail(path+".name", "%q: use 1-64 letters, digits, '-' and '_'", sf.Name)
	}
	if sf.Kind == "" {
		d.fail(path+".kind", "is required: device, agent, audit or case")
	}
	src := logship.Source{Name: sf.Name, Kind: sourceKinds[sf.Kind], Raw: sf.Raw,
		Retention: time.Duration(sf.RetentionDays) * 24 * time.Hour}
	switch {
	case sf.Root != "" && sf.Glob != "":
		d.fail(path+".glob", "set either root (with patterns) or glob, not both")
	case sf.Glob != "" && len(sf.Patterns) > 0:
		d.fail(path+".patterns", "set either glob or root with patterns, not both")
	case sf.Glob != "":
		root, pattern, err := splitGlob(resolve(dir, sf.Glob))
		if err != nil {
			d.fail(path+".glob", "%v", err)
		}
		src.Root, src.Patterns = root, []string{pattern}
	case sf.Root != "":
		src.Root, src.Patterns = resolve(dir, sf.Root), sf.Patterns
	default:
		d.fail(path+".root", "is required: the folder the source's files lie in (or glob, such as /var/log/carto/*.log)")
	}
	return src, len(d.errs) == n
}

// splitGlob splits a path pattern into its folder (no wildcards allowed)
// and the file name pattern.
func splitGlob(glob string) (root, pattern string, err error) {
	root, pattern = filepath.Dir(glob), filepath.Base(glob)
	if strings.ContainsAny(root, "*?[") {
		return "", "", fmt.Errorf("%q: only the file name may hold wildcards; use root and patterns for more", glob)
	}
	if err := checkPattern(pattern); err != nil {
		return "", "", err
	}
	return root, pattern, nil
}

// builtinSources are the agent's own log files unless a configured source
// already has their name or kind: "agent" (logFile and its rotated copies,
// when logging to a file). The audit log needs no source here: the agent
// adds it itself (source "audit", unredacted, rotated copies included)
// whenever an audit log and log delivery are both on.
func builtinSources(cfg *config, names map[string]bool, kinds map[logship.Kind]bool) []logship.Source {
	var out []logship.Source
	if f := cfg.Log.File; f != "" && !names[agentSourceName] && !kinds[logship.KindAgentLog] {
		base := filepath.Base(f)
		out = append(out, logship.Source{Name: agentSourceName, Kind: logship.KindAgentLog,
			Root: filepath.Dir(f), Patterns: []string{base, base + ".*"}})
	}
	return out
}

// redaction is the pattern list: the defaults (unless defaultRedaction is
// false) followed by the configured ones, each compiled here so a bad
// regex fails at its line. Never nil: the agent reads nil as the defaults.
func (l *logsFields) redaction(d *decoder) []logship.Pattern {
	out := []logship.Pattern{}
	if l.DefaultRedaction == nil || *l.DefaultRedaction {
		out = logship.DefaultPatterns()
	}
	names := map[string]bool{}
	for _, p := range out {
		names[p.Name] = true
	}
	for i, pf := range l.Redaction {
		path := fmt.Sprintf("logs.redaction[%d]", i)
		if pf.Name == "" {
			d.fail(path+".name", "is required")
		} else if names[pf.Name] {
			d.fail(path+".name", "%q names another pattern too (built-in: patientName, mrn, dateOfBirth)", pf.Name)
		}
		names[pf.Name] = true
		if err := checkRegex(pf.Regex); err != nil {
			d.fail(path+".regex", "%v", err)
			continue
		}
		out = append(out, logship.Pattern{Name: pf.Name, Regexp: pf.Regex, Replace: orDefaultString(pf.Replace, defaultRedactedText)})
	}
	return out
}

// checkRegex compiles a redaction regex (Go RE2 syntax) and refuses one
// that matches empty text, which would rewrite every position of a log.
func checkRegex(s string) error {
	if s == "" {
		return errors.New("is required")
	}
	re, err := regexp.Compile(s)
	if err != nil {
		return fmt.Errorf("does not compile: %v", err)
	}
	if re.MatchString("") {
		return fmt.Errorf("%q matches empty text; it must match something to redact", s)
	}
	return nil
}
