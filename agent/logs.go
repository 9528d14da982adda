package agent

import (
	"fmt"
	"math/rand/v2"

	"github.com/cloudpillar/cloudpillar/agent/logship"
)

// LogsConfig configures log delivery (agent/logship). With no sources it
// is off.
type LogsConfig struct {
	Sources []logship.Source
	// Redaction patterns run on text logs before upload; nil:
	// logship.DefaultPatterns() (patient names, MRNs, dates of birth).
	Redaction []logship.Pattern
	// BytesPerSecond caps upload bandwidth at all times; 0: no cap.
	BytesPerSecond int64
	// ScheduleSources are the sources of twin-scheduled uploads; empty: all.
	ScheduleSources []string
	// HTTPSAddress is the hub's HTTPS host:port; default HostName:443.
	HTTPSAddress string
}

// openLogs builds the log shipper on the agent's store and guard.
func (a *Agent) openLogs() error {
	c := a.cfg
	patterns := c.Logs.Redaction
	if patterns == nil {
		patterns = logship.DefaultPatterns()
	}
	red, err := logship.NewRedactor(patterns...)
	if err != nil {
		return fmt.Errorf("agent logs: %w", err)
	}
	var rnd *rand.Rand
	if c.Rand != nil {
		rnd = rand.New(rand.NewPCG(c.Rand.Uint64(), c.Rand.Uint64()))
	}
	a.logs, err = logship.New(logship.Config{
		DeviceID: c.Hub.DeviceID, HostName: c.Hub.HostName, Address: c.Logs.HTTPSAddress,
		RootCAs: c.Hub.RootCAs, Certificate: c.Hub.Certificate, Dial: logship.DialFunc(c.Hub.Dial),
		Sources: c.Logs.Sources, Redactor: red, Store: a.store, Waiter: a.gate,
		OnStatus: a.reportLogUpload, BytesPerSecond: c.Logs.BytesPerSecond,
		Now: c.Now, Rand: rnd, Logger: a.log.With("subsystem", "logship"),
	})
	if err != nil {
		return fmt.Errorf("agent logs: %w", err)
	}
	return nil
}

// reportLogUpload merges one job's status into reported logUploads; a nil
// status (a forgotten job) becomes null and removes it from the twin.
func (a *Agent) reportLogUpload(id string, st map[string]any) {
	var v any
	if st != nil {
		v = st
	}
	a.queueReport(map[string]any{logship.ReportedUploads: map[string]any{id: v}})
	a.signal()
}

// Logs is the log shipper (nil when log delivery is off).
func (a *Agent) Logs() *logship.Shipper { return a.logs }
