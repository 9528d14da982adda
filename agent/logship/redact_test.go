package logship

import "testing"

func TestDefaultRedaction(t *testing.T) {
	r := MustRedactor(DefaultPatterns()...)
	tests := []struct {
		in, want string
		n        int
	}{
		{"Patient: John Smith\n", "Patient: [REDACTED]\n", 1},
		{"Patient:Jane Doe, age 50\n", "Patient:[REDACTED], age 50\n", 1},
		{"MRN: 1234567 and MRN#0012345678 and MRN 123456\n", "MRN:[REDACTED] and MRN:[REDACTED] and MRN:[REDACTED]\n", 3},
		{"MRN: 12345 too short\n", "MRN: 12345 too short\n", 0},
		{"DOB:1970-01-31 DOB 1980-12-01\n", "DOB:[REDACTED] DOB:[REDACTED]\n", 2},
		{"Patient: A\nPatient: B\n", "Patient: [REDACTED]\nPatient: [REDACTED]\n", 2},
		{"nothing here\n", "nothing here\n", 0},
	}
	for _, tc := range tests {
		got, n := r.Redact(nil, []byte(tc.in))
		if string(got) != tc.want || n != tc.n {
			t.Errorf("Redact(%q) = %q, %d; want %q, %d", tc.in, got, n, tc.want, tc.n)
		}
	}
	if _, err := NewRedactor(Pattern{Name: "bad", Regexp: "("}); err == nil {
		t.Error("a pattern that does not compile was accepted")
	}
	custom := MustRedactor(Pattern{Name: "serial", Regexp: `SN-\d+`, Replace: "SN-x"})
	if got := custom.String("device SN-42 ok"); got != "device SN-x ok" {
		t.Errorf("custom pattern: %q", got)
	}
}

// FuzzRedact: redaction never panics and is idempotent (a second pass
// changes nothing), so nothing it leaves still matches a pattern's target.
func FuzzRedact(f *testing.F) {
	f.Add([]byte("Patient: John\nMRN: 1234567\nDOB:1970-01-01\n"))
	f.Add([]byte("Patient:MRN 1234567 DOB 1970-01-01"))
	r := MustRedactor(DefaultPatterns()...)
	f.Fuzz(func(t *testing.T, in []byte) {
		out, _ := r.Redact(nil, in)
		again, _ := r.Redact(nil, out)
		if string(again) != string(out) {
			t.Fatalf("redacting %q twice: %q then %q", in, out, again)
		}
	})
}
