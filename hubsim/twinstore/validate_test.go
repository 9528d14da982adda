package twinstore

import (
	"errors"
	"strings"
	"testing"
)

// nest returns `{"k":{"k":...1...}}` with n objects below the root.
func nest(n int) string {
	return strings.Repeat(`{"k":`, n+1) + "1" + strings.Repeat("}", n+1)
}

// TestPatchValidation: every rule of §2.4 is enforced with a 400 / 400004
// error that names the key, and a rejected patch changes nothing.
func TestPatchValidation(t *testing.T) {
	long := strings.Repeat("a", MaxKeyBytes+1)
	tests := []struct {
		name  string
		patch string
		want  string // substring of the message
	}{
		{"empty body", ``, "reported patch is empty"},
		{"space body", " ", "reported patch is empty"},
		{"invalid json", `{"a":`, "not valid JSON"},
		{"trailing data", `{"a":1} {"b":2}`, "data after the JSON value"},
		{"trailing garbage", `{"a":1}x`, "data after the JSON value"},
		{"array", `[1]`, "must be a JSON object, got an array"},
		{"string", `"x"`, "got a string"},
		{"number", `12`, "got a number"},
		{"null", `null`, "got null"},
		{"bool", `true`, "got a boolean"},
		{"dot key", `{"a.b":1}`, `property "reported.a.b": key must not contain '.'`},
		{"dollar key", `{"$version":3}`, `"reported.$version": key must not contain '$'`},
		{"space key", `{"o":{"a b":1}}`, `"reported.o.a b": key must not contain a space`},
		{"control key", `{"a\u0001":1}`, "control characters"},
		{"c1 control key", `{"a\u0085":1}`, "control characters"},
		{"empty key", `{"":1}`, `property "reported.": empty key`},
		{"long key", `{"` + long + `":1}`, "...\": key longer than 1024 bytes"},
		{"key in array object", `{"a":[{"b.c":1}]}`, `"reported.a[0].b.c": key must not contain '.'`},
		{"string too long", `{"s":"` + strings.Repeat("x", MaxStringBytes+1) + `"}`, `"reported.s": string of 4097 bytes`},
		{"integer too large", `{"n":4503599627370496}`, `"reported.n": integer 4503599627370496 is outside`},
		{"integer too small", `{"n":-4503599627370497}`, "is outside"},
		{"integer overflows int64", `{"n":123456789012345678901234567890}`, "is outside"},
		{"float out of range", `{"f":1e999}`, `"reported.f": number 1e999 is out of range`},
		{"too deep", nest(MaxDepth + 1), "nesting deeper than 10 levels"},
		{"too deep via arrays", `{"a":` + strings.Repeat("[", MaxDepth+1) + "1" + strings.Repeat("]", MaxDepth+1) + `}`, "nesting deeper"},
		{"section too large", bigPatch(MaxSectionSize + 1), "more than the 32768-byte limit"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, _ := newStore(t, "d1")
			if _, err := s.PatchReported("d1", []byte(`{"keep":{"x":1}}`)); err != nil {
				t.Fatal(err)
			}
			before := deviceDocString(t, s, "d1")
			tw0, _ := s.Get("d1")
			_, err := s.PatchReported("d1", []byte(tc.patch))
			var te *Error
			if !errors.As(err, &te) || te.Status != 400 || te.Code != 400004 {
				t.Fatalf("PatchReported(%.60q) = %v, want a 400/400004 *Error", tc.patch, err)
			}
			if !strings.Contains(te.Message, tc.want) {
				t.Errorf("message %q, want it to contain %q", te.Message, tc.want)
			}
			if after := deviceDocString(t, s, "d1"); after != before {
				t.Errorf("rejected patch changed the doc: %s -> %s", before, after)
			}
			if tw, _ := s.Get("d1"); tw.ETag != tw0.ETag || tw.Version != tw0.Version {
				t.Errorf("rejected patch changed etag/version")
			}
		})
	}
}

// TestPatchValidationBoundaries: the values exactly at each limit pass.
func TestPatchValidationBoundaries(t *testing.T) {
	patches := []string{
		`{"` + strings.Repeat("k", MaxKeyBytes) + `":1}`,
		`{"s":"` + strings.Repeat("x", MaxStringBytes) + `"}`,
		`{"n":4503599627370495,"m":-4503599627370496,"f":1.7976931348623157e308}`,
		nest(MaxDepth),
		`{"a":` + strings.Repeat("[", MaxDepth) + "1" + strings.Repeat("]", MaxDepth) + `}`,
		`{"ünï-cöde_key!@#%^&*()":"ok","a\u00a0b":1}`,
		bigPatch(MaxSectionSize),
	}
	for _, p := range patches {
		s, _ := newStore(t, "d1")
		if _, err := s.PatchReported("d1", []byte(p)); err != nil {
			t.Errorf("PatchReported(%.60q): %v", p, err)
		}
	}
}

// bigPatch builds a patch whose section size is exactly n (n >= 2): keys
// "k0".."kN" with strings of up to 4000 bytes.
func bigPatch(n int) string {
	var b strings.Builder
	b.WriteByte('{')
	for i := 0; n > 0; i++ {
		key := "k" + string(rune('a'+i%26)) + string(rune('a'+i/26))
		v := min(n-len(key), 4000)
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(`"` + key + `":"` + strings.Repeat("x", v) + `"`)
		n -= len(key) + v
	}
	b.WriteByte('}')
	return b.String()
}

// TestSectionSizeCountsMergedDocument: the limit applies to the section
// after the merge, so replacing a big value with a small one is accepted
// and adding to a nearly full section is not.
func TestSectionSizeCountsMergedDocument(t *testing.T) {
	s, _ := newStore(t, "d1")
	if _, err := s.PatchReported("d1", []byte(bigPatch(MaxSectionSize-10))); err != nil {
		t.Fatal(err)
	}
	if _, err := s.PatchReported("d1", []byte(`{"zz":"12345678"}`)); err != nil {
		t.Errorf("patch reaching exactly the limit: %v", err)
	}
	if _, err := s.PatchReported("d1", []byte(`{"zy":true}`)); err == nil {
		t.Error("patch beyond the limit accepted")
	}
	if _, err := s.PatchReported("d1", []byte(`{"kaa":null,"zy":true}`)); err != nil {
		t.Errorf("patch that frees space: %v", err)
	}
	// Desired has its own 32 KB budget.
	if _, _, err := s.PatchDesired("d1", []byte(bigPatch(MaxSectionSize))); err != nil {
		t.Errorf("desired at the limit: %v", err)
	}
}

func TestSizeOf(t *testing.T) {
	tests := []struct {
		patch string
		want  int
	}{
		{`{}`, 0},
		{`{"ab":"xyz"}`, 5},
		{`{"n":1}`, 9},
		{`{"b":false}`, 5},
		{`{"o":{"p":"é"}}`, 4}, // o + p + 2 bytes
		{`{"a":[1,true,null,"x"]}`, 18},
	}
	for _, tc := range tests {
		p, err := decodePatch("reported", []byte(tc.patch))
		if err != nil {
			t.Fatal(err)
		}
		if got := sizeOf(p); got != tc.want {
			t.Errorf("sizeOf(%s) = %d, want %d", tc.patch, got, tc.want)
		}
		if got := mergedSize(nil, p); got != tc.want {
			t.Errorf("mergedSize(nil, %s) = %d, want %d", tc.patch, got, tc.want)
		}
	}
}
