// Package features holds the acceptance tests: Gherkin .feature files written
// for the people who sign off a release, requirements.yaml (the requirement
// ids those files cite in tags such as @REQ-TWIN-001) and the godog step
// definitions that drive a real hubsim hub, a devsim fleet running the real
// agent, and the chaos network between them.
//
// The feature files and requirements.yaml are embedded (Files), so the same
// scenarios run under `go test ./features/` (features_test.go) and from the
// harness CLI. Suite.InitializeScenario registers the steps; each scenario
// gets its own world (hub, fleet, chaos network) that an After hook tears
// down with a deadline, so no goroutine outlives its scenario.
//
// features may import every harness package (hubsim, devsim, chaos,
// internal/testpki) and the agent. Scenarios run one at a time; a world is
// used only by the goroutine running its scenario's steps.
package features
