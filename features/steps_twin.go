package features

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/cucumber/godog"
)

// ackWithin bounds the wait for an acknowledgement in Given steps.
const ackWithin = 10

func (w *world) registerTwinSteps(sc *godog.ScenarioContext) {
	sc.Step(`^the operator sets desired "([^"]*)" to (-?\d+)$`, w.setDesiredNumber)
	sc.Step(`^the operator sets desired "([^"]*)" to the JSON value (.+)$`, w.setDesiredJSON)
	sc.Step(`^the device has applied desired "([^"]*)" of (-?\d+)$`, w.hasApplied)
	sc.Step(`^within (\d+) seconds the device reports "([^"]*)" with ac (\d+) at the desired version$`, w.reportsAck)
	sc.Step(`^the reported value of "([^"]*)" is (-?\d+)$`, w.reportedValueIs)
	sc.Step(`^the reason given names "([^"]*)" and says "([^"]*)"$`, w.reasonSays)
	sc.Step(`^the device samples telemetry every (\d+) seconds?$`, w.samplesEvery)
	sc.Step(`^for (\d+) seconds the change is not acknowledged and the device keeps sampling every (\d+) seconds$`, w.notAcknowledged)
}

func (w *world) setDesiredNumber(name string, n int) error {
	return w.setDesiredJSON(name, fmt.Sprint(n))
}

// setDesiredJSON sends the desired patch {name: value} with value given as
// JSON text, and remembers the desired $version it produced.
func (w *world) setDesiredJSON(name, value string) error {
	if !json.Valid([]byte(value)) {
		return fmt.Errorf("desired value %s is not JSON", value)
	}
	key, err := json.Marshal(name)
	if err != nil {
		return err
	}
	d, err := w.only()
	if err != nil {
		return err
	}
	patch := fmt.Sprintf("{%s:%s}", key, value)
	v, err := w.hub.UpdateDesired(d.ID, []byte(patch))
	if err != nil {
		return fmt.Errorf("update desired %s of %s: %w", patch, d.ID, err)
	}
	w.desiredVersion = v
	return nil
}

func (w *world) hasApplied(ctx context.Context, name string, n int) error {
	if err := w.setDesiredNumber(name, n); err != nil {
		return err
	}
	if err := w.reportsAck(ctx, ackWithin, name, 200); err != nil {
		return err
	}
	return w.samplesEvery(ctx, n)
}

// reportsAck waits for the reported ack of name to carry code and the
// desired version the operator's last change produced.
func (w *world) reportsAck(ctx context.Context, secs int, name string, code int) error {
	return within(ctx, seconds(secs), func() error {
		a, err := w.ack(name)
		if err != nil {
			return err
		}
		if a.Version != w.desiredVersion || a.Code != code {
			return fmt.Errorf("reported %s = %s, want ac %d at av %d", name, a, code, w.desiredVersion)
		}
		return nil
	})
}

func (w *world) reportedValueIs(name string, want int) error {
	a, err := w.ack(name)
	if err != nil {
		return err
	}
	got, ok := integer(a.Value)
	if !ok || got != int64(want) {
		return fmt.Errorf("reported %s = %s, want value %d", name, a, want)
	}
	return nil
}

func (w *world) reasonSays(name, phrase string) error {
	a, err := w.ack(name)
	if err != nil {
		return err
	}
	if !strings.Contains(a.Description, name) || !strings.Contains(a.Description, phrase) {
		return fmt.Errorf("reported %s = %s, want an \"ad\" naming %q and saying %q", name, a, name, phrase)
	}
	return nil
}

// samplesEvery checks the sampling period the device's agent has in force.
func (w *world) samplesEvery(ctx context.Context, secs int) error {
	d, err := w.only()
	if err != nil {
		return err
	}
	return within(ctx, seconds(1), func() error {
		if got := d.Agent.TelemetryInterval(); got != seconds(secs) {
			return fmt.Errorf("%s samples telemetry every %v, want %v", d.ID, got, seconds(secs))
		}
		return nil
	})
}

// notAcknowledged checks for secs seconds that the last desired version has
// not been acknowledged and the device keeps its previous period.
func (w *world) notAcknowledged(ctx context.Context, secs, every int) error {
	d, err := w.only()
	if err != nil {
		return err
	}
	return throughout(ctx, seconds(secs), func() error {
		if a, err := w.ack(twinPropTelemetryInterval); err == nil && a.Version >= w.desiredVersion {
			return fmt.Errorf("desired version %d acknowledged while offline: %s", w.desiredVersion, a)
		}
		if got := d.Agent.TelemetryInterval(); got != seconds(every) {
			return fmt.Errorf("%s samples telemetry every %v while offline, want %v", d.ID, got, seconds(every))
		}
		return nil
	})
}
