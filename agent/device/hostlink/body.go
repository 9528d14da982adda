package hostlink

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
)

// maxMetricName caps a metric name, in bytes.
const maxMetricName = 128

// bodyError is a request the API cannot accept; its text names the problem
// and goes back to the client in a 400 answer. It never quotes values the
// client sent (a case id is PHI), only field names and positions.
type bodyError string

func (e bodyError) Error() string { return string(e) }

func errBody(format string, args ...any) error { return bodyError(fmt.Sprintf(format, args...)) }

// writeBodyError answers 400 with err's text.
func writeBodyError(w http.ResponseWriter, err error) {
	writeError(w, http.StatusBadRequest, err.Error())
}

// decodeBody reads at most MaxBodyBytes and decodes exactly one JSON object
// into v, refusing unknown fields. An empty body is accepted only when
// allowEmpty is set (v is then left as it is).
func decodeBody(w http.ResponseWriter, r *http.Request, v any, allowEmpty bool) error {
	b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBodyBytes))
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		return errBody("request body exceeds %d bytes", MaxBodyBytes)
	}
	if err != nil {
		return errBody("read request body: %v", err)
	}
	if len(bytes.TrimSpace(b)) == 0 {
		if allowEmpty {
			return nil
		}
		return errBody("request body is empty; want a JSON object")
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return describeJSONError(err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return errBody("unexpected data after the JSON object")
	}
	return nil
}

// describeJSONError turns a decoding error into a message that names the
// field or byte offset, without quoting the client's values.
func describeJSONError(err error) error {
	var syntax *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syntax):
		return errBody("invalid JSON at byte %d", syntax.Offset)
	case errors.As(err, &typ) && typ.Field == "":
		return errBody("body: want a JSON object, got JSON %s", typ.Value)
	case errors.As(err, &typ):
		return errBody("field %q: want %s, got JSON %s", typ.Field, jsonKind(typ.Type.Kind().String()), typ.Value)
	case errors.Is(err, io.ErrUnexpectedEOF):
		return errBody("invalid JSON: unexpected end of body")
	}
	if name, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		return errBody("unknown field %s", name)
	}
	return errBody("invalid JSON body")
}

// jsonKind names a Go kind in JSON's terms.
func jsonKind(kind string) string {
	switch kind {
	case "string":
		return "a string"
	case "map", "struct":
		return "an object"
	default:
		return kind
	}
}

// checkStatus accepts the heartbeat statuses.
func checkStatus(s string) error {
	switch s {
	case StatusOK, StatusDegraded, StatusFault:
		return nil
	case "":
		return errBody("status: required, one of ok, degraded, fault")
	default:
		return errBody("status: want one of ok, degraded, fault")
	}
}

// parseMetrics checks heartbeat metrics: names are non-empty, at most
// maxMetricName bytes and not reserved; values are numbers (int64 when
// integral and in range, else float64) or strings.
func parseMetrics(raw map[string]json.RawMessage) (map[string]any, error) {
	out := make(map[string]any, len(raw))
	for _, name := range slices.Sorted(maps.Keys(raw)) {
		switch {
		case name == "":
			return nil, errBody("metrics: a metric name is empty")
		case len(name) > maxMetricName:
			return nil, errBody("metrics: a metric name is longer than %d bytes", maxMetricName)
		case name == MetricHostStatus:
			return nil, errBody("metrics[%q]: name is reserved", name)
		}
		v, err := metricValue(raw[name])
		if err != nil {
			return nil, errBody("metrics[%q]: %v", name, err)
		}
		out[name] = v
	}
	return out, nil
}

func metricValue(raw json.RawMessage) (any, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return nil, errors.New("empty value")
	}
	switch c := raw[0]; {
	case c == '"':
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return nil, errors.New("invalid string")
		}
		return s, nil
	case c == '-' || (c >= '0' && c <= '9'):
		if i, err := strconv.ParseInt(string(raw), 10, 64); err == nil {
			return i, nil
		}
		f, err := strconv.ParseFloat(string(raw), 64)
		if err != nil {
			return nil, errors.New("number out of range")
		}
		return f, nil
	default:
		return nil, errors.New("want a number or a string")
	}
}
