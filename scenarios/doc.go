// Package scenarios defines what a simulated run does and judges it: the
// scenario YAML schema (loaded with validation that names the offending
// field), the embedded default scenario, and the runner that composes hubsim,
// a devsim fleet and the chaos layer, drains the run, and turns what
// happened into a reports.Summary with a verdict.
//
// Every random choice comes from the scenario seed. The runner owns every
// goroutine it starts and stops them before Run returns.
//
// scenarios imports all harness packages; it is never imported by the agent.
package scenarios
