// Package reports owns the run summary: the Summary type whose JSON is the
// summary.json schema of DESIGN.md §4, the one file that tools read after a
// run, together with the small statistics helpers that fill it.
//
// The schema is add-only: fields are added, never renamed or removed, and
// every schema field is always written, zero values included, so a reader
// can rely on a key being present. Failures, Timeline and Samples are written
// as arrays, never null.
//
// Computing the verdict is the caller's job (the scenario judge); this package
// only carries it and rejects verdicts other than "pass" and "fail" when
// reading a summary back.
//
// Subpackages render a Summary for other readers: htmlreport for people,
// junit for CI systems; reportstest holds fixed summaries for tests.
//
// Imports: the standard library only (gonum/plot is allowed for charts in
// subpackages later). Nothing here starts goroutines and the functions keep
// no state, so they are safe for concurrent use; a Summary is a plain value
// with no locking of its own.
package reports
