package topic

import (
	"errors"
	"strconv"
)

// Kind is what a topic name is for.
type Kind int

// Topic kinds. Device-to-hub: Telemetry, TwinGet, TwinPatchReported,
// MethodResponse, CredentialRequest. Hub-to-device: C2D, TwinResponse,
// DesiredPatch, MethodRequest, CredentialResponse, ModuleInput.
const (
	KindUnknown            Kind = iota
	KindTelemetry               // devices/{d}[/modules/{m}]/messages/events/[{bag}]
	KindTwinGet                 // $iothub/twin/GET/?$rid={rid}
	KindTwinPatchReported       // $iothub/twin/PATCH/properties/reported/?$rid={rid}
	KindMethodResponse          // $iothub/methods/res/{status}/?$rid={rid}
	KindC2D                     // devices/{d}[/modules/{m}]/messages/devicebound/[{bag}]
	KindTwinResponse            // $iothub/twin/res/{status}/?$rid={rid}[&$version={v}]
	KindDesiredPatch            // $iothub/twin/PATCH/properties/desired/?$version={v}
	KindMethodRequest           // $iothub/methods/POST/{name}/?$rid={rid}
	KindCredentialRequest       // $iothub/credentials/POST/{operation}/?$rid={rid} (PROTOCOL.md §2.6)
	KindCredentialResponse      // $iothub/credentials/res/{status}/?$rid={rid}
	KindModuleInput             // devices/{d}/modules/{m}/inputs/{input}/[{bag}]
)

var kindNames = [...]string{
	KindUnknown:            "unknown",
	KindTelemetry:          "telemetry",
	KindTwinGet:            "twin GET",
	KindTwinPatchReported:  "twin PATCH reported",
	KindMethodResponse:     "method response",
	KindC2D:                "C2D",
	KindTwinResponse:       "twin response",
	KindDesiredPatch:       "desired patch",
	KindMethodRequest:      "method request",
	KindCredentialRequest:  "credential request",
	KindCredentialResponse: "credential response",
	KindModuleInput:        "module input",
}

// String names the kind for logs and test failures.
func (k Kind) String() string {
	if k < 0 || int(k) >= len(kindNames) {
		return "Kind(" + strconv.Itoa(int(k)) + ")"
	}
	return kindNames[k]
}

// Topic is a parsed IoT Hub topic name. Fields that do not apply to the
// kind are zero.
type Topic struct {
	Kind     Kind
	DeviceID string
	ModuleID string // module topics only
	Input    string // module input name (KindModuleInput)
	RID      string // $rid, exactly as it appeared in the name
	Status   int    // twin, method and credential responses
	Method   string // method name; for KindCredentialRequest the operation (issueCertificate)
	Version  int    // $version where present, else 0
	Props    []Prop // decoded property bag in order (telemetry, C2D, module input); nil if none
}

// Prop is one property of a message's property bag. Null is true for a bare
// key without `=` (IoT Hub's encoding of a null value); Value is then "".
type Prop struct {
	Key, Value string
	Null       bool
}

// Prop returns the value of the first property named key and whether it
// exists. A null property exists and has the value "".
func (t Topic) Prop(key string) (string, bool) {
	for _, p := range t.Props {
		if p.Key == key {
			return p.Value, true
		}
	}
	return "", false
}

// Errors Parse wraps; callers can branch with errors.Is.
var (
	// ErrUnknownTopic: the name is not one of the documented IoT Hub topics.
	ErrUnknownTopic = errors.New("unknown IoT Hub topic")
	// ErrMalformedTopic: the name has a known shape but a bad or missing part
	// ($rid, status, $version, empty ID).
	ErrMalformedTopic = errors.New("malformed IoT Hub topic")
	// ErrMalformedUsername: a CONNECT user name without host or device ID.
	ErrMalformedUsername = errors.New("malformed IoT Hub user name")
)

// maxQuoted bounds how much of an offending name an error repeats.
const maxQuoted = 128

// Error is a parse failure for one name or user name.
type Error struct {
	What   string // "topic" or "username"
	Name   string // the input, possibly truncated
	Err    error  // ErrUnknownTopic, ErrMalformedTopic or ErrMalformedUsername
	Reason string // what was wrong, may be empty
}

func (e *Error) Error() string {
	s := e.What + " " + strconv.Quote(e.Name) + ": " + e.Err.Error()
	if e.Reason != "" {
		s += ": " + e.Reason
	}
	return s
}

// Unwrap returns the sentinel error.
func (e *Error) Unwrap() error { return e.Err }

func newError(what, name string, err error, reason string) *Error {
	if len(name) > maxQuoted {
		name = name[:maxQuoted] + "..."
	}
	return &Error{What: what, Name: name, Err: err, Reason: reason}
}

func unknown(name string) error { return newError("topic", name, ErrUnknownTopic, "") }

func malformed(name, reason string) error {
	return newError("topic", name, ErrMalformedTopic, reason)
}
