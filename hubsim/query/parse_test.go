package query

import (
	"errors"
	"strings"
	"testing"
)

// TestParseCanonical: each query parses, and its canonical form is the one
// given (keywords upper case, conditions fully parenthesised, <> as !=).
func TestParseCanonical(t *testing.T) {
	tests := []struct{ in, want string }{
		{"SELECT * FROM devices", "SELECT * FROM devices"},
		{"select top 5 * from devices", "SELECT TOP 5 * FROM devices"},
		{"SELECT deviceId, tags.location.region AS region FROM devices",
			"SELECT deviceId, tags.location.region AS region FROM devices"},
		{"SELECT * FROM devices WHERE tags.location.region = 'US'",
			`SELECT * FROM devices WHERE (tags.location.region = "US")`},
		{`SELECT * FROM devices WHERE status <> "disabled" AND NOT connectionState = 'Connected' OR deviceId = 'x'`,
			`SELECT * FROM devices WHERE (((status != "disabled") AND (NOT (connectionState = "Connected"))) OR (deviceId = "x"))`},
		{"SELECT * FROM devices WHERE a = 1 AND (b = 2 OR c = 3)",
			"SELECT * FROM devices WHERE ((a = 1) AND ((b = 2) OR (c = 3)))"},
		{"SELECT * FROM devices WHERE properties.reported.fw IN ['1.0', \"2.0\", 3, true, null]",
			`SELECT * FROM devices WHERE (properties.reported.fw IN ["1.0", "2.0", 3, true, null])`},
		{"SELECT * FROM devices WHERE deviceId NIN []", "SELECT * FROM devices WHERE (deviceId NIN [])"},
		{"SELECT * FROM devices WHERE is_defined(properties.desired.x)",
			"SELECT * FROM devices WHERE IS_DEFINED(properties.desired.x)"},
		{"SELECT * FROM devices WHERE x >= -1.5e3 AND y < .5 AND z <= 0 AND w > 10",
			"SELECT * FROM devices WHERE ((((x >= -1500) AND (y < 0.5)) AND (z <= 0)) AND (w > 10))"},
		{"SELECT COUNT() FROM devices", "SELECT COUNT() FROM devices"},
		{"SELECT properties.reported.telemetryConfig.status AS status, COUNT() AS numberOfDevices FROM devices GROUP BY properties.reported.telemetryConfig.status",
			"SELECT properties.reported.telemetryConfig.status AS status, COUNT() AS numberOfDevices FROM devices GROUP BY properties.reported.telemetryConfig.status"},
		{"SELECT SUM(tags.n), AVG(tags.n), MIN(tags.n), MAX(tags.n) FROM devices",
			"SELECT SUM(tags.n), AVG(tags.n), MIN(tags.n), MAX(tags.n) FROM devices"},
		{"SELECT * FROM devices WHERE devices.tags.a = 'b'", `SELECT * FROM devices WHERE (tags.a = "b")`},
		{`SELECT * FROM devices WHERE tags.s = 'it\'s \u00e9\n'`, `SELECT * FROM devices WHERE (tags.s = "it's é\n")`},
		{"SELECT * FROM devices WHERE tags.select = properties.reported.$version",
			"SELECT * FROM devices WHERE (tags.select = properties.reported.$version)"},
		{"SELECT * FROM devices WHERE 'x' = deviceId", `SELECT * FROM devices WHERE ("x" = deviceId)`},
	}
	for _, tc := range tests {
		q, err := Parse(tc.in)
		if err != nil {
			t.Errorf("Parse(%q) error: %v", tc.in, err)
			continue
		}
		if got := q.String(); got != tc.want {
			t.Errorf("Parse(%q).String() =\n  %s\nwant\n  %s", tc.in, got, tc.want)
		}
		again, err := Parse(q.String())
		if err != nil || again.String() != tc.want {
			t.Errorf("Parse(%q) of the canonical form = %v, %v", q.String(), again, err)
		}
	}
}

// TestParseErrors: a rejected query names the position (1-based
// characters) and what was expected there.
func TestParseErrors(t *testing.T) {
	tests := []struct {
		in       string
		pos      int
		expected string // "" when only Msg is checked
		contains string // substring of the error text
	}{
		{"", 1, "SELECT", "found end of query"},
		{"SELEC * FROM devices", 1, "SELECT", "found 'SELEC'"},
		{"SELECT * devices", 10, "FROM", "found 'devices'"},
		{"SELECT * FROM twins", 15, "devices", "found 'twins'"},
		{"SELECT * FROM devices.modules", 22, "", "only FROM devices"},
		{"SELECT * FROM devices WHERE", 28, wantCondition, "end of query"},
		{"SELECT * FROM devices WHERE a =", 32, "a path or a value after =", "end of query"},
		{"SELECT * FROM devices WHERE a", 30, "a comparison operator (= != <> < <= > >=), IN or NIN", ""},
		{"SELECT * FROM devices WHERE (a = 1", 35, "')'", ""},
		{"SELECT * FROM devices WHERE a IN [1,", 37, "a value (string, number, true, false or null)", ""},
		{"SELECT * FROM devices WHERE a IN [1 2]", 37, "',' or ']'", "number 2"},
		{"SELECT * FROM devices WHERE a IN 1", 34, "'['", ""},
		{"SELECT * FROM devices WHERE a = 'x", 33, "", "unterminated string"},
		{"SELECT * FROM devices WHERE a = 1 #", 35, "", "unexpected character '#'"},
		{"SELECT * FROM devices WHERE é = 1", 29, "", "unexpected character 'é'"},
		{"SELECT TOP 0 * FROM devices", 12, "a positive whole number after TOP", ""},
		{"SELECT TOP 1.5 * FROM devices", 12, "a positive whole number after TOP", ""},
		{"SELECT * FROM devices extra", 23, "end of query", "'extra'"},
		{"SELECT FROM devices", 8, "'*', a path or an aggregate (COUNT, SUM, AVG, MIN, MAX)", ""},
		{"SELECT LOWER(deviceId) FROM devices", 8, "'*', a path or an aggregate (COUNT, SUM, AVG, MIN, MAX)", ""},
		{"SELECT deviceId AS FROM FROM devices", 20, "an alias", ""},
		{"SELECT * FROM devices WHERE tags. = 1", 35, "a property name after '.'", ""},
		{"SELECT * FROM devices WHERE a = 1 GROUP deviceId", 41, "BY", ""},
		{"SELECT * FROM devices GROUP BY status", 1, "", "GROUP BY needs a select list"},
		{"SELECT status FROM devices GROUP BY status", 1, "", "GROUP BY needs an aggregate"},
		{"SELECT deviceId, COUNT() FROM devices", 1, "", "deviceId must be the GROUP BY path"},
		{"SELECT * FROM devices WHERE a = 1e999", 33, "", "bad number"},
		{"SELECT * FROM devices WHERE a = '\xff'", 1, "", "not valid UTF-8"},
		{"SELECT * FROM devices WHERE a = '" + strings.Repeat("x", MaxLength) + "'", 1, "", "longer than 8192"},
	}
	for _, tc := range tests {
		_, err := Parse(tc.in)
		var se *SyntaxError
		if !errors.As(err, &se) {
			t.Errorf("Parse(%.60q) = %v, want a *SyntaxError", tc.in, err)
			continue
		}
		if se.Pos != tc.pos || se.Expected != tc.expected || !strings.Contains(err.Error(), tc.contains) {
			t.Errorf("Parse(%.60q) = %v (pos %d, expected %q), want pos %d, expected %q, containing %q",
				tc.in, err, se.Pos, se.Expected, tc.pos, tc.expected, tc.contains)
		}
	}
}
