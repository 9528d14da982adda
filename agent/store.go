package agent

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"github.com/cloudpillar/cloudpillar/agent/outbox"
)

// openStore opens the durable store: the one the caller passed, the file at
// StorePath, or else a private file in a temporary directory that Close
// removes. It returns the function that releases it.
func (a *Agent) openStore() error {
	cfg := &a.cfg
	if cfg.Store != nil {
		a.store, a.release = cfg.Store, func() error { return nil }
		return nil
	}
	path, tmp := cfg.StorePath, ""
	if path == "" {
		var err error
		if tmp, err = os.MkdirTemp("", "cloudpillar-agent-"); err != nil {
			return fmt.Errorf("agent store: %w", err)
		}
		path = filepath.Join(tmp, "agent.db")
	}
	st, db, err := outbox.OpenFile(path, "agent", cfg.StoreLimits, a.log.With("subsystem", "outbox"))
	if err != nil {
		if tmp != "" {
			os.RemoveAll(tmp)
		}
		return fmt.Errorf("agent store: %w", err)
	}
	a.store = st
	a.release = func() error {
		err := st.Close()
		if cerr := db.Close(); err == nil {
			err = cerr
		}
		if tmp != "" {
			os.RemoveAll(tmp)
		}
		return err
	}
	if msg := st.Recovered(); msg != "" {
		a.alert("storeRecovered", msg)
	}
	return nil
}

// alert queues an alert message: it is delivered before any telemetry.
func (a *Agent) alert(kind, detail string) {
	body, _ := json.Marshal(map[string]string{"alert": kind, "deviceId": a.cfg.Hub.DeviceID, "detail": detail})
	_, err := a.store.Put(outbox.Item{
		Class:      outbox.ClassAlert,
		ID:         fmt.Sprintf("%s-%d-alert-%s", a.cfg.Hub.DeviceID, a.cfg.Boot, kind),
		Payload:    body,
		Properties: map[string]string{"$.ct": "application/json", "$.ce": "utf-8", "alert": kind},
		Created:    a.cfg.Now(),
	})
	if err != nil {
		a.log.Error("alert not stored", "alert", kind, "err", err)
	}
	a.log.Warn("alert", "alert", kind, "detail", detail)
	a.signal()
	if a.logs != nil {
		a.logs.Trigger(kind) // an error event: ship the logs that explain it
	}
}

// signal wakes the connection loop to drain the store.
func (a *Agent) signal() {
	select {
	case a.ready <- struct{}{}:
	default:
	}
}
