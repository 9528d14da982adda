// Package htmlreport renders a run Summary as report.html: one
// self-contained page for people (inline CSS and hand-drawn inline SVG
// charts, no scripts, no external assets) with the verdict, the failures,
// a table per summary section, charts of the samples and the chaos timeline.
//
// All text goes through html/template, so strings from the run (failure
// messages, timeline details) are escaped. Output depends only on the
// Summary, so the same summary always renders the same bytes.
//
// Imports: the standard library and reports. Functions are safe for
// concurrent use.
package htmlreport
