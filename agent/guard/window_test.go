package guard

import (
	"strings"
	"testing"
	"time"
)

func utc(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

// TestScheduleNext: cron fields, lists, ranges and steps, evaluated on the
// wall clock of the window's zone.
func TestScheduleNext(t *testing.T) {
	tests := []struct {
		spec, tz, after, want string
	}{
		{"0 2 * * *", "UTC", "2026-06-01T10:00:00Z", "2026-06-02T02:00:00Z"},
		{"0 2 * * *", "UTC", "2026-06-01T01:59:30Z", "2026-06-01T02:00:00Z"},
		{"0 2 * * *", "UTC", "2026-06-01T02:00:00Z", "2026-06-02T02:00:00Z"}, // strictly after
		{"*/15 * * * *", "UTC", "2026-06-01T10:01:00Z", "2026-06-01T10:15:00Z"},
		{"5/20 * * * *", "UTC", "2026-06-01T10:26:00Z", "2026-06-01T10:45:00Z"},
		{"0-30/10 9 * * *", "UTC", "2026-06-01T09:21:00Z", "2026-06-01T09:30:00Z"},
		{"0 1,13 * * *", "UTC", "2026-06-01T10:00:00Z", "2026-06-01T13:00:00Z"},
		{"0 22 * * 1-5", "UTC", "2026-06-05T23:00:00Z", "2026-06-08T22:00:00Z"}, // Fri -> Mon
		{"0 3 * * 0", "UTC", "2026-06-01T00:00:00Z", "2026-06-07T03:00:00Z"},    // Sunday as 0
		{"0 3 * * 7", "UTC", "2026-06-01T00:00:00Z", "2026-06-07T03:00:00Z"},    // Sunday as 7
		{"0 0 1 */3 *", "UTC", "2026-06-01T10:00:00Z", "2026-07-01T00:00:00Z"},
		{"0 0 29 2 *", "UTC", "2026-06-01T00:00:00Z", "2028-02-29T00:00:00Z"},
		{"0 0 13 * 5", "UTC", "2026-06-01T00:00:00Z", "2026-06-05T00:00:00Z"}, // dom OR dow: Friday 5th
		{"0 0 13 * 5", "UTC", "2026-06-10T00:00:00Z", "2026-06-12T00:00:00Z"},
		{"0 0 */2 * 5", "UTC", "2026-06-01T00:00:00Z", "2026-06-05T00:00:00Z"}, // "*/2" day: AND
		{"0 2 * * *", "Europe/Berlin", "2026-06-01T10:00:00Z", "2026-06-02T00:00:00Z"},
		{"0 2 * * *", "America/New_York", "2026-01-10T00:00:00Z", "2026-01-10T07:00:00Z"},
		{"30 4 * * *", "Asia/Kolkata", "2026-06-01T00:00:00Z", "2026-06-01T23:00:00Z"},
	}
	for _, tc := range tests {
		w := mustWindow(t, tc.spec, time.Hour, tc.tz)
		if got := w.sched.next(utc(tc.after), w.loc); !got.Equal(utc(tc.want)) {
			t.Errorf("next(%q in %s after %s) = %s, want %s", tc.spec, tc.tz, tc.after, got.UTC().Format(time.RFC3339), tc.want)
		}
	}
}

// TestParseWindowErrors: the parser says which field is wrong and why.
func TestParseWindowErrors(t *testing.T) {
	tests := []struct {
		spec string
		d    time.Duration
		tz   string
		want string
	}{
		{"0 2 * *", time.Hour, "UTC", "want 5 fields"},
		{"0 2 * * * *", time.Hour, "UTC", "want 5 fields"},
		{"60 2 * * *", time.Hour, "UTC", `minute field "60": value 60 out of range 0-59`},
		{"0 24 * * *", time.Hour, "UTC", "hour field"},
		{"0 2 0 * *", time.Hour, "UTC", "day-of-month field"},
		{"0 2 * 13 *", time.Hour, "UTC", "month field"},
		{"0 2 * * 8", time.Hour, "UTC", "day-of-week field"},
		{"*/0 2 * * *", time.Hour, "UTC", `step "0" is not a positive number`},
		{"*/x 2 * * *", time.Hour, "UTC", "step"},
		{"30-10 2 * * *", time.Hour, "UTC", "runs backwards"},
		{"a 2 * * *", time.Hour, "UTC", `"a" is not a number`},
		{"1,,2 2 * * *", time.Hour, "UTC", `"" is not a number`},
		{"-5 2 * * *", time.Hour, "UTC", "not a number"},
		{"0 0 31 2 *", time.Hour, "UTC", "never occurs"},
		{"0 0 30,31 2,4 *", time.Hour, "UTC", ""}, // April 30 exists
		{"0 2 * * *", 30 * time.Second, "UTC", "duration 30s outside"},
		{"0 2 * * *", 8 * 24 * time.Hour, "UTC", "outside"},
		{"0 2 * * *", time.Hour, "Mars/Olympus", `time zone "Mars/Olympus"`},
		{"0 2 * * *", time.Hour, "", ""},
	}
	for _, tc := range tests {
		_, err := ParseWindow(tc.spec, tc.d, tc.tz)
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("ParseWindow(%q, %v, %q) = %v, want success", tc.spec, tc.d, tc.tz, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("ParseWindow(%q, %v, %q) = %v, want error containing %q", tc.spec, tc.d, tc.tz, err, tc.want)
		}
	}
}

// TestWindowAcrossDST: in Europe/Berlin clocks jump 02:00->03:00 on
// 2026-03-29 (01:00 UTC) and 03:00->02:00 on 2026-10-25 (01:00 UTC). The
// window is defined on the wall clock; its duration is real time.
func TestWindowAcrossDST(t *testing.T) {
	at0230 := mustWindow(t, "30 2 * * *", time.Hour, "Europe/Berlin")
	at0100 := mustWindow(t, "0 1 * * *", 3*time.Hour, "Europe/Berlin")
	short := mustWindow(t, "30 2 * * *", 10*time.Minute, "Europe/Berlin")
	tests := []struct {
		name string
		w    Window
		at   string
		open bool
		next string // NextOpen(at)
	}{
		{"day before spring forward opens 02:30 CET", at0230, "2026-03-28T01:45:00Z", true, "2026-03-28T01:45:00Z"},
		{"02:30 does not exist on spring forward day", at0230, "2026-03-29T00:00:00Z", false, "2026-03-30T00:30:00Z"},
		{"nor an hour later", at0230, "2026-03-29T01:30:00Z", false, "2026-03-30T00:30:00Z"},
		{"day after opens 02:30 CEST", at0230, "2026-03-30T00:30:00Z", true, "2026-03-30T00:30:00Z"},
		{"3h from 01:00 CET ends 05:00 CEST", at0100, "2026-03-29T02:59:00Z", true, "2026-03-29T02:59:00Z"},
		{"and is closed at 05:00 CEST", at0100, "2026-03-29T03:00:00Z", false, "2026-03-29T23:00:00Z"},
		{"fall back: first 02:30 (CEST)", short, "2026-10-25T00:35:00Z", true, "2026-10-25T00:35:00Z"},
		{"fall back: between the two", short, "2026-10-25T00:45:00Z", false, "2026-10-25T01:30:00Z"},
		{"fall back: second 02:30 (CET)", short, "2026-10-25T01:35:00Z", true, "2026-10-25T01:35:00Z"},
		{"fall back: after both", short, "2026-10-25T01:40:00Z", false, "2026-10-26T01:30:00Z"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			at := utc(tc.at)
			if got := tc.w.Contains(at); got != tc.open {
				t.Errorf("%v.Contains(%s) = %v, want %v", tc.w, tc.at, got, tc.open)
			}
			if got := tc.w.NextOpen(at); !got.Equal(utc(tc.next)) {
				t.Errorf("%v.NextOpen(%s) = %s, want %s", tc.w, tc.at, got.UTC().Format(time.RFC3339), tc.next)
			}
		})
	}
}

// TestWindowEdges: a window is half-open [start, start+duration).
func TestWindowEdges(t *testing.T) {
	w := mustWindow(t, "0 2 * * *", time.Hour, "UTC")
	tests := []struct {
		at   string
		open bool
	}{
		{"2026-06-01T01:59:59Z", false},
		{"2026-06-01T02:00:00Z", true},
		{"2026-06-01T02:59:59Z", true},
		{"2026-06-01T03:00:00Z", false},
	}
	for _, tc := range tests {
		if got := w.Contains(utc(tc.at)); got != tc.open {
			t.Errorf("Contains(%s) = %v, want %v", tc.at, got, tc.open)
		}
	}
	var never Window
	if never.Contains(utc("2026-06-01T02:00:00Z")) || !never.NextOpen(t0).IsZero() {
		t.Error("the zero Window opened")
	}
	if !AlwaysOpen().Contains(t0) || !AlwaysOpen().NextOpen(t0).Equal(t0) {
		t.Error("AlwaysOpen is not open")
	}
	if got, want := w.String(), `"0 2 * * *" for 1h0m0s in UTC`; got != want {
		t.Errorf("String() = %s, want %s", got, want)
	}
}
