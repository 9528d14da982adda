package nodewire

import (
	"bytes"
	"testing"
)

// TestRecords checks the embedded capture parses whole: every line is a
// record whose raw packet decodes and starts with its MQTT type.
func TestRecords(t *testing.T) {
	recs, err := Records()
	if err != nil {
		t.Fatal(err)
	}
	if lines := bytes.Count(capture, []byte("\n")); len(recs) != lines {
		t.Fatalf("Records() = %d records, want one per line (%d)", len(recs), lines)
	}
	types := map[string]byte{"connect": 1, "publish": 3, "subscribe": 8, "disconnect": 14}
	for i, r := range recs {
		raw, err := r.Raw()
		if err != nil || len(raw) == 0 {
			t.Fatalf("record %d (%s/%d %s): Raw() = %d bytes, %v", i, r.Flow, r.Conn, r.Type, len(raw), err)
		}
		if want, ok := types[r.Type]; ok && raw[0]>>4 != want {
			t.Errorf("record %d (%s/%d %s): packet type %d, want %d", i, r.Flow, r.Conn, r.Type, raw[0]>>4, want)
		}
	}
}

func TestPayload(t *testing.T) {
	text := "{}"
	tests := []struct {
		name string
		r    Record
		want string
	}{
		{"text", Record{PayloadText: &text, PayloadBase64: "eA=="}, "{}"},
		{"base64", Record{PayloadBase64: "AAE="}, "\x00\x01"},
		{"none", Record{}, ""},
		{"bad base64", Record{PayloadBase64: "!"}, ""},
	}
	for _, tc := range tests {
		if got := tc.r.Payload(); string(got) != tc.want {
			t.Errorf("%s: Payload() = %q, want %q", tc.name, got, tc.want)
		}
	}
}

// TestRecordsOwned checks a caller may change its records without
// changing what the next caller reads.
func TestRecordsOwned(t *testing.T) {
	a, err := Records()
	if err != nil {
		t.Fatal(err)
	}
	want := a[0].Flow
	a[0].Flow = "changed"
	b, err := Records()
	if err != nil {
		t.Fatal(err)
	}
	if b[0].Flow != want {
		t.Errorf("second Records()[0].Flow = %q, want %q", b[0].Flow, want)
	}
}
