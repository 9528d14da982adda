package topic

import (
	"strconv"
	"strings"
)

const (
	devicesPrefix = "devices/"
	iothubPrefix  = "$iothub/"
)

// Parse parses a topic name of PROTOCOL.md §2, in either direction. The
// error says what was wrong (`topic "x": unknown IoT Hub topic`) and wraps
// ErrUnknownTopic or ErrMalformedTopic. Twin, method and credential topics
// need a non-empty $rid; a desired patch needs $version.
func Parse(name string) (Topic, error) {
	return parse(name, true)
}

// parse is Parse; with bag false it skips decoding the property bag, which
// is all an access check needs.
func parse(name string, bag bool) (Topic, error) {
	switch {
	case strings.HasPrefix(name, devicesPrefix):
		return parseDevices(name, bag)
	case strings.HasPrefix(name, iothubPrefix):
		return parseIoTHub(name)
	}
	return Topic{}, unknown(name)
}

// parseDevices handles devices/{d}[/modules/{m}]/... names.
func parseDevices(name string, bag bool) (Topic, error) {
	var t Topic
	rest := name[len(devicesPrefix):]
	t.DeviceID, rest = cutSegment(rest)
	if t.DeviceID == "" {
		return Topic{}, malformed(name, "empty device ID")
	}
	if r, ok := strings.CutPrefix(rest, "modules/"); ok {
		t.ModuleID, rest = cutSegment(r)
		if t.ModuleID == "" {
			return Topic{}, malformed(name, "empty module ID")
		}
	}
	var raw string
	var ok bool
	switch {
	case matchTail(rest, "messages/events", &raw):
		t.Kind = KindTelemetry
	case matchTail(rest, "messages/devicebound", &raw):
		t.Kind = KindC2D
	default:
		if t.Input, raw, ok = moduleInput(t.ModuleID, rest); !ok {
			return Topic{}, unknown(name)
		}
		t.Kind = KindModuleInput
	}
	if bag {
		t.Props = DecodeBag(raw)
	}
	return t, nil
}

// cutSegment splits s at its first `/`; without one, all of s is the segment.
func cutSegment(s string) (seg, rest string) {
	seg, rest, _ = strings.Cut(s, "/")
	return seg, rest
}

// matchTail reports whether s is word, or word + "/" + bag; it stores the
// bag with one trailing `/` removed (module output events end in one).
func matchTail(s, word string, bag *string) bool {
	r, ok := strings.CutPrefix(s, word)
	if !ok || (r != "" && r[0] != '/') {
		return false
	}
	if r != "" {
		r = r[1:]
	}
	*bag = strings.TrimSuffix(r, "/")
	return true
}

// moduleInput matches inputs/{input}[/{bag}] on a module topic.
func moduleInput(moduleID, rest string) (input, bag string, ok bool) {
	r, found := strings.CutPrefix(rest, "inputs/")
	if moduleID == "" || !found {
		return "", "", false
	}
	input, bag = cutSegment(r)
	return input, strings.TrimSuffix(bag, "/"), input != ""
}

// parseIoTHub handles $iothub/{path}[/]?{query} names.
func parseIoTHub(name string) (Topic, error) {
	path, query, _ := strings.Cut(name[len(iothubPrefix):], "?")
	path = strings.TrimSuffix(path, "/")
	var t Topic
	var param string
	switch {
	case path == "twin/GET":
		t.Kind = KindTwinGet
	case path == "twin/PATCH/properties/reported":
		t.Kind = KindTwinPatchReported
	case path == "twin/PATCH/properties/desired":
		t.Kind = KindDesiredPatch
	case cutParam(path, "twin/res/", &param):
		t.Kind = KindTwinResponse
	case cutParam(path, "methods/res/", &param):
		t.Kind = KindMethodResponse
	case cutParam(path, "methods/POST/", &param):
		t.Kind, t.Method = KindMethodRequest, param
	case cutParam(path, "credentials/res/", &param):
		t.Kind = KindCredentialResponse
	case cutParam(path, "credentials/POST/", &param):
		t.Kind, t.Method = KindCredentialRequest, param
	default:
		return Topic{}, unknown(name)
	}
	if reason := t.fill(param, query); reason != "" {
		return Topic{}, malformed(name, reason)
	}
	return t, nil
}

// cutParam matches prefix + one non-empty path segment.
func cutParam(path, prefix string, param *string) bool {
	p, ok := strings.CutPrefix(path, prefix)
	if !ok || p == "" || strings.IndexByte(p, '/') >= 0 {
		return false
	}
	*param = p
	return true
}

// fill sets status, $rid and $version from the path parameter and query and
// returns what is wrong, or "".
func (t *Topic) fill(param, query string) string {
	switch t.Kind {
	case KindTwinResponse, KindMethodResponse, KindCredentialResponse:
		st, err := strconv.Atoi(param)
		if err != nil {
			return "status " + strconv.Quote(param) + " is not an integer"
		}
		t.Status = st
	}
	rid, hasRID, version, reason := parseQuery(query)
	if reason != "" {
		return reason
	}
	t.RID, t.Version = rid, version
	if t.Kind == KindDesiredPatch {
		if version <= 0 {
			return "missing $version"
		}
		return ""
	}
	if !hasRID || rid == "" {
		return "missing $rid"
	}
	return ""
}

// parseQuery reads $rid and $version from a `k=v&k=v` query. Other keys are
// ignored; keys are percent-decoded (`%24rid`), values are not.
func parseQuery(q string) (rid string, hasRID bool, version int, reason string) {
	for q != "" {
		var kv string
		kv, q, _ = strings.Cut(q, "&")
		k, v, _ := strings.Cut(kv, "=")
		switch unescape(k) {
		case "$rid":
			rid, hasRID = v, true
		case "$version":
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 {
				return "", false, 0, "$version " + strconv.Quote(v) + " is not a non-negative integer"
			}
			version = n
		}
	}
	return rid, hasRID, version, ""
}
