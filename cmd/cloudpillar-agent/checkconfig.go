package main

import (
	"fmt"
	"io"
	"text/tabwriter"
	"time"
)

// checkConfig prints a summary of cfg for --check-config, or fails (exit
// code 2) when the device certificate is expired or not yet valid at now.
func checkConfig(w io.Writer, cfg *config, now time.Time) error {
	leaf := cfg.Hub.Certificate.Leaf
	switch {
	case now.After(leaf.NotAfter):
		return usageError{fieldError{At: cfg.CertAt, Field: "certFile",
			Msg: fmt.Sprintf("the certificate expired at %s", leaf.NotAfter.UTC().Format(time.RFC3339))}}
	case now.Before(leaf.NotBefore):
		return usageError{fieldError{At: cfg.CertAt, Field: "certFile",
			Msg: fmt.Sprintf("the certificate is not valid before %s (is the clock right?)", leaf.NotBefore.UTC().Format(time.RFC3339))}}
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
	leaf := cfg.Hub.Certificate.Leaf
	left := leaf.NotAfter.Sub(now).Truncate(time.Hour)
	return [][2]string{
		{"device", cfg.Hub.DeviceID},
		{"hub", fmt.Sprintf("%s (dial %s)", cfg.Hub.HostName, cfg.Hub.Address)},
		{"certificate", fmt.Sprintf("subject %s, issuer %s", leaf.Subject, leaf.Issuer)},
		{"expires", fmt.Sprintf("%s (in %d days)", leaf.NotAfter.UTC().Format(time.RFC3339), int(left.Hours()/24))},
		{"store", cfg.StorePath},
		{"telemetry", "every " + cfg.TelemetryInterval.String()},
		{"log", logSummary(cfg.Log)},
		{"health", healthSummary(cfg.HealthAddress)},
		{"host link", hostLinkSummary(cfg)},
	}
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
