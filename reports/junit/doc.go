// Package junit writes JUnit XML (junit.xml) so CI systems show a run's
// verdict criteria as test cases, and turns a run Summary into a Suite.
//
// The output is the common JUnit dialect read by Jenkins, GitLab, GitHub
// Actions reporters and Azure Pipelines: a <testsuites> root with tests,
// failures, errors, skipped and time attributes, one <testsuite> per Suite
// with the same counts, and <testcase> elements carrying <failure> or
// <skipped>. Errors are always 0: a criterion either holds or fails.
//
// Imports: the standard library and reports. Functions are safe for
// concurrent use.
package junit
