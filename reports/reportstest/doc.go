// Package reportstest provides fixed Summary values for tests of the reports
// packages and of their callers, so golden files stay deterministic.
//
// Imports: the standard library and reports. Test code only; production
// packages must not import it.
package reportstest
