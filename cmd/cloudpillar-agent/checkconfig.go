package main

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"
)

// checkConfig prints a summary of cfg for --check-config, or fails (exit
// code 2) when the device certificate (with provisioning, the bootstrap
// certificate, which every registration and renewal needs) is expired or
// not yet valid at now.
func checkConfig(w io.Writer, cfg *config, now time.Time) error {
	c := cfg.Credential
	switch {
	case now.After(c.Leaf.NotAfter):
		return usageError{fieldError{At: c.At, Field: c.Field,
			Msg: fmt.Sprintf("the certificate expired at %s", c.Leaf.NotAfter.UTC().Format(time.RFC3339))}}
	case now.Before(c.Leaf.NotBefore):
		return usageError{fieldError{At: c.At, Field: c.Field,
			Msg: fmt.Sprintf("the certificate is not valid before %s (is the clock right?)", c.Leaf.NotBefore.UTC().Format(time.RFC3339))}}
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "%s: OK\n", cfg.Path)
	for _, row := range summary(cfg, now) {
		fmt.Fprintf(tw, "  %s\t%s\n", row[0], row[1])
	}
	return tw.Flush()
}

// summary is the rows --check-config prints.
func summary(cfg *config, now time.Time) [][2]string {
	rows := [][2]string{{"device", cfg.Hub.DeviceID}, {"hub", hubSummary(cfg)}}
	rows = append(rows, identityRows(cfg, now)...)
	return append(rows, [][2]string{
		{"store", cfg.StorePath},
		{"telemetry", telemetrySummary(cfg)},
		{"log", logSummary(cfg.Log)},
		{"health", healthSummary(cfg.HealthAddress)},
		{"host link", hostLinkSummary(cfg)},
		{"guard", guardSummary(cfg)},
		{"audit log", cfg.AuditLogPath},
		{"log upload", logUploadSummary(cfg)},
		{"updates", updatesSummary(cfg)},
	}...)
}

func hubSummary(cfg *config) string {
	h := cfg.Hub
	switch {
	case cfg.Identity == nil:
		return fmt.Sprintf("%s (dial %s)", h.HostName, h.Address)
	case h.Address != "":
		return fmt.Sprintf("assigned by DPS (dial %s)", h.Address)
	}
	return "assigned by DPS"
}

// identityRows describe the certificate: the fixed one, or the bootstrap
// certificate and the DPS registration.
func identityRows(cfg *config, now time.Time) [][2]string {
	leaf := cfg.Credential.Leaf
	left := leaf.NotAfter.Sub(now).Truncate(time.Hour)
	expires := fmt.Sprintf("%s (in %d days)", leaf.NotAfter.UTC().Format(time.RFC3339), int(left.Hours()/24))
	cert := fmt.Sprintf("subject %s, issuer %s", leaf.Subject, leaf.Issuer)
	if cfg.Identity == nil {
		return [][2]string{{"certificate", cert}, {"expires", expires}}
	}
	ic := cfg.Identity
	p := ic.Provision
	issued := "none yet (the agent registers at start)"
	if exp, ok := storedIdentityExpiry(ic.Dir); ok {
		issued = "expires " + exp.UTC().Format(time.RFC3339)
	}
	return [][2]string{
		{"provisioning", fmt.Sprintf("DPS %s (dial %s), id scope %s, registration %s", p.ServerName, p.Address, p.IDScope, p.RegistrationID)},
		{"bootstrap", cert},
		{"expires", expires},
		{"identity", fmt.Sprintf("%s: %s; renewed at %.0f%% of its lifetime", ic.Dir, issued, ic.Renewal.Fraction*100)},
	}
}

func telemetrySummary(cfg *config) string {
	s := "every " + cfg.TelemetryInterval.String()
	if cfg.BatchSamples > 1 {
		s += fmt.Sprintf(", %d readings per message", cfg.BatchSamples)
	}
	return s
}

func logSummary(ls logSettings) string {
	where := "stderr"
	if ls.File != "" {
		where = fmt.Sprintf("%s (rotate at %d MiB, keep %d)", ls.File, ls.MaxBytes>>20, ls.MaxFiles)
	}
	return fmt.Sprintf("%s, %s, level %s", where, ls.Format, ls.Level)
}

func healthSummary(addr string) string {
	if addr == "" {
		return "disabled"
	}
	return "http://" + addr + healthPath
}

func hostLinkSummary(cfg *config) string {
	h := cfg.HostLink
	if h == nil {
		return "none (the device reports idle)"
	}
	network, addr := h.Network, h.Address
	if network == "" {
		network, addr = "default", "for this platform"
	}
	timeout := "default timeout"
	if h.LinkTimeout > 0 {
		timeout = "timeout " + h.LinkTimeout.String()
	}
	return fmt.Sprintf("%s %s, token %s, %s", network, addr, h.TokenFile, timeout)
}

func guardSummary(cfg *config) string {
	windows := "no maintenance windows (updates activate only once the twin sets maintenanceWindows)"
	if n := len(cfg.Guard.Windows); n > 0 {
		ws := make([]string, n)
		for i, w := range cfg.Guard.Windows {
			ws[i] = w.String()
		}
		windows = "maintenance windows " + strings.Join(ws, ", ")
	}
	return fmt.Sprintf("quiet period %v, time zone %s, %s", cfg.Guard.QuietPeriod, cfg.TimeZone, windows)
}

func logUploadSummary(cfg *config) string {
	l := cfg.Logs
	if len(l.Sources) == 0 {
		return "off"
	}
	names := make([]string, len(l.Sources))
	for i, s := range l.Sources {
		names[i] = fmt.Sprintf("%s (%s in %s)", s.Name, s.Kind, s.Root)
	}
	limit := "no bandwidth cap"
	if l.BytesPerSecond > 0 {
		limit = fmt.Sprintf("at most %d bytes/s", l.BytesPerSecond)
	}
	return fmt.Sprintf("sources %s; %d redaction patterns; %s", strings.Join(names, ", "), len(l.Redaction), limit)
}

func updatesSummary(cfg *config) string {
	u := cfg.Updates
	if u == nil {
		return "off"
	}
	return fmt.Sprintf("roots %s (version %d, keys %s), device %s/%s/%s, downloads in %s, installer %s",
		u.RootsFile, u.Roots.Version(), strings.Join(u.Roots.KeyIDs(), " "), u.Device.Manufacturer, u.Device.Model,
		u.Device.HardwareID, u.Dir, u.InstallerDir)
}
