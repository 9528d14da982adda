package outbox

import (
	"strings"
	"testing"
	"time"
)

func TestRecordRoundTrip(t *testing.T) {
	tests := []struct {
		name string
		it   Item
	}{
		{"empty", Item{}},
		{"full", testItem(ClassTelemetry, "dev-1-3-42")},
		{"binary payload, no created", Item{ID: "x", Payload: []byte{0, 1, 2, 0xff}}},
		{"empty property value", Item{ID: "y", Properties: map[string]string{"k": ""}, Created: time.Unix(0, 1).UTC()}},
		{"large payload", Item{ID: "z", Payload: []byte(strings.Repeat("p", 100_000))}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rec := encodeRecord(nil, tc.it)
			if got, want := int64(8+len(rec)), encodedSize(tc.it); got != want {
				t.Errorf("encodedSize = %d, want %d (key + record)", want, got)
			}
			back, err := decodeRecord(rec)
			if err != nil {
				t.Fatalf("decodeRecord: %v", err)
			}
			back.Class = tc.it.Class // the class is the bucket, not the record
			if err := sameItem(back, tc.it); err != nil {
				t.Error(err)
			}
		})
	}
}

func TestDecodeRecordRejectsDamage(t *testing.T) {
	rec := encodeRecord(nil, testItem(ClassTelemetry, "dev-1-1-1"))
	for i := range rec {
		bad := append([]byte(nil), rec...)
		bad[i] ^= 0x01
		if _, err := decodeRecord(bad); err == nil {
			t.Fatalf("decodeRecord accepted the record with byte %d flipped", i)
		}
	}
	for n := range len(rec) {
		if _, err := decodeRecord(rec[:n]); err == nil {
			t.Fatalf("decodeRecord accepted the record cut to %d of %d bytes", n, len(rec))
		}
	}
}

// FuzzDecodeRecord: decoding never panics, and whatever decodes encodes
// back to the same bytes.
func FuzzDecodeRecord(f *testing.F) {
	f.Add(encodeRecord(nil, testItem(ClassTelemetry, "a")))
	f.Add(encodeRecord(nil, Item{}))
	f.Add([]byte("garbage"))
	f.Fuzz(func(t *testing.T, b []byte) {
		it, err := decodeRecord(b)
		if err != nil {
			return
		}
		if again := encodeRecord(nil, it); string(again) != string(b) {
			t.Fatalf("decode then encode changed the record:\n%x\n%x", b, again)
		}
	})
}
