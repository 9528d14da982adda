package features

import (
	"context"
	"embed"
	"log/slog"

	"github.com/cucumber/godog"
)

// Files holds the feature files and requirements.yaml.
//
//go:embed *.feature requirements.yaml
var Files embed.FS

// Suite runs the acceptance scenarios.
type Suite struct {
	// Logger receives the logs of every scenario's hub and agents, in
	// addition to the scenario's own buffer (printed when a scenario
	// fails). Nil keeps only the buffer.
	Logger *slog.Logger
}

// InitializeScenario registers the steps and a fresh world for one
// scenario, torn down by an After hook. Pass it as godog's
// ScenarioInitializer.
func (s Suite) InitializeScenario(sc *godog.ScenarioContext) {
	w := newWorld(s.Logger)
	w.registerFleetSteps(sc)
	w.registerTwinSteps(sc)
	w.registerSecuritySteps(sc)
	w.registerResilienceSteps(sc)
	w.registerIdentitySteps(sc)
	w.registerLifecycleSteps(sc)
	w.registerUpdateSteps(sc)
	w.registerLogSteps(sc)
	w.registerLogScheduleSteps(sc)
	w.registerRestartSteps(sc)
	w.registerPowerLossSteps(sc)
	w.registerPatientSteps(sc)
	sc.After(func(ctx context.Context, _ *godog.Scenario, err error) (context.Context, error) {
		if err != nil {
			godog.Logf(ctx, "hub and agent logs of the failed scenario:\n%s", w.logs.String())
		}
		return ctx, w.close()
	})
}
