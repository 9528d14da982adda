// Package query owns the IoT Hub query language for device twins
// (PROTOCOL.md §4, "Query"): a parser with errors that name the position and
// the token it expected, and a pure evaluator over twin documents.
//
// The language accepted is
//
//	SELECT [TOP n] * | item [AS alias], ...
//	FROM devices
//	[WHERE condition]
//	[GROUP BY path]
//
// where an item is a path or an aggregate (COUNT(), SUM(path), AVG(path),
// MIN(path), MAX(path)); a condition combines comparisons (= != <> < <= >
// >=), IN [...], NIN [...] and IS_DEFINED(path) with AND, OR, NOT and
// parentheses; literals are strings in ' or ", numbers, true, false and
// null. Keywords are case-insensitive, property names are not. Paths name
// members of the twin document: deviceId, status, connectionState, tags.*,
// properties.desired.*, properties.reported.* and the other top-level twin
// fields; a leading "devices." is accepted and dropped.
//
// Evaluation follows the three-valued logic IoT Hub inherits from its
// document store: a path that is missing, or a comparison between values of
// different types or with an object or array, is undefined, and WHERE keeps
// only documents for which the condition is true. Not supported: arithmetic
// (+ - * / %), string and type functions other than IS_DEFINED, ORDER BY,
// bracket member access (tags['a-b']), and the devices.modules and
// devices.jobs collections; each is rejected with a SyntaxError.
//
// The package is pure: no I/O, no goroutines, no global state; a parsed
// *Query is immutable and safe for concurrent use. It imports only the
// standard library.
package query
