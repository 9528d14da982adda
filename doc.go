// Package cloudpillar is the root of the Cloud Pillar repository: a device
// agent for connected medical systems (agent/, shipped as
// cmd/cloudpillar-agent) and the harness that proves it, at fleet scale and
// under faults, against an in-process Azure IoT Hub simulator (hubsim/,
// devsim/, chaos/, scenarios/, features/, reports/, driven by
// cmd/cloudpillar).
//
// This package holds no code. Its tests police the repository as a whole:
// deps_test.go keeps the harness out of the shipped agent's dependency
// graph, and pkgdoc_test.go requires a package doc comment on every
// package. README.md is the entry point for people.
package cloudpillar
