package topic

import "strings"

// DecodeBag decodes a property bag `k=v&k2&k3=` (PROTOCOL.md §2.1-2.2): keys
// and values are percent-decoded leniently (see the package doc: `+` stays a
// plus), a bare key is a null property, empty segments are skipped. It
// returns nil for an empty bag and never fails. Undecoded keys and values
// share memory with bag; decoded ones share one new string.
func DecodeBag(bag string) []Prop {
	if bag == "" {
		return nil
	}
	props := make([]Prop, 0, strings.Count(bag, "&")+1)
	if strings.IndexByte(bag, '%') < 0 {
		return splitBag(props, bag)
	}
	var bufArr [256]byte // decoded text; on the stack for usual bags
	var endsArr [32]int  // end offsets of each key and value in buf
	buf, ends := bufArr[:0], endsArr[:0]
	for bag != "" {
		var kv string
		kv, bag, _ = strings.Cut(bag, "&")
		if kv == "" {
			continue
		}
		k, v, hasValue := strings.Cut(kv, "=")
		buf = appendUnescaped(buf, k)
		ends = append(ends, len(buf))
		buf = appendUnescaped(buf, v)
		ends = append(ends, len(buf))
		props = append(props, Prop{Null: !hasValue})
	}
	text, start := string(buf), 0
	for i := range props {
		props[i].Key, props[i].Value = text[start:ends[2*i]], text[ends[2*i]:ends[2*i+1]]
		start = ends[2*i+1]
	}
	return nilIfEmpty(props)
}

// splitBag is DecodeBag for a bag without escapes.
func splitBag(props []Prop, bag string) []Prop {
	for bag != "" {
		var kv string
		kv, bag, _ = strings.Cut(bag, "&")
		if kv != "" {
			k, v, hasValue := strings.Cut(kv, "=")
			props = append(props, Prop{Key: k, Value: v, Null: !hasValue})
		}
	}
	return nilIfEmpty(props)
}

func nilIfEmpty(props []Prop) []Prop {
	if len(props) == 0 {
		return nil
	}
	return props
}

// EncodeBag encodes props as IoT Hub expects in a topic: like JavaScript's
// encodeURIComponent (space `%20`, `$` `%24`, `/` `%2F`, `+` `%2B`; letters,
// digits and `-_.!~*'()` raw), `k=v` joined by `&`, a null property as its
// bare key.
func EncodeBag(props []Prop) string { return withBag("", props) }

// bagLen estimates the encoded length of props (exact when nothing needs
// escaping).
func bagLen(props []Prop) int {
	n := 0
	for _, p := range props {
		n += len(p.Key) + len(p.Value) + 2
	}
	return n
}

// unreserved reports whether encodeURIComponent leaves c as is.
func unreserved(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	return strings.IndexByte("-_.!~*'()", c) >= 0
}

const upperHex = "0123456789ABCDEF"

func escapeTo(b *strings.Builder, s string) {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if unreserved(c) {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(upperHex[c>>4])
		b.WriteByte(upperHex[c&15])
	}
}

// unescape decodes %XX sequences; a malformed escape is kept as written and
// `+` is not a space. Without a `%` it returns s itself (no allocation).
func unescape(s string) string {
	if strings.IndexByte(s, '%') < 0 {
		return s
	}
	return string(appendUnescaped(make([]byte, 0, len(s)), s))
}

// appendUnescaped appends s to b with %XX sequences decoded.
func appendUnescaped(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if s[i] == '%' && i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2]) {
			b = append(b, unhex(s[i+1])<<4|unhex(s[i+2]))
			i += 2
			continue
		}
		b = append(b, s[i])
	}
	return b
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case c <= '9':
		return c - '0'
	case c >= 'a':
		return c - 'a' + 10
	}
	return c - 'A' + 10
}
