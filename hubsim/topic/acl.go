package topic

import "strings"

// Subscription filters a device may use (PROTOCOL.md §2); the per-device
// ones are built from these suffixes.
const (
	FilterTwinResponses = "$iothub/twin/res/#"
	FilterDesired       = "$iothub/twin/PATCH/properties/desired/#"
	FilterMethods       = "$iothub/methods/POST/#"
	FilterCredentials   = "$iothub/credentials/res/#"
	// FilterC2DAnyDevice is what azure-sdk-for-c (Embedded C, Arduino,
	// ESP32) subscribes for C2D (AZ_IOT_HUB_CLIENT_C2D_SUBSCRIBE_TOPIC); the
	// hub scopes it to the connection. Delivery keeps it from matching
	// another device's messages.
	FilterC2DAnyDevice      = "devices/+/messages/devicebound/#"
	filterDeviceboundSuffix = "messages/devicebound/#"
	filterInputsSuffix      = "inputs/#"
)

// FilterAllowed reports whether identity (client ID `{device}` or
// `{device}/{module}`) may subscribe to filter: the shared `$iothub/...`
// filters, its own `devices/{d}/messages/devicebound/#` (or
// FilterC2DAnyDevice, as azure-sdk-for-c sends it), and for a module
// `devices/{d}/modules/{m}/inputs/#` and
// `devices/{d}/modules/{m}/messages/devicebound/#` (amenzhinsky's module
// client). Anything else, including another device's filter or a wildcard
// elsewhere, is refused.
func FilterAllowed(identity, filter string) bool {
	dev, mod := splitIdentity(identity)
	if dev == "" {
		return false
	}
	switch filter {
	case FilterTwinResponses, FilterDesired, FilterMethods, FilterCredentials:
		return true
	case FilterC2DAnyDevice:
		return mod == ""
	}
	rest, ok := ownPrefix(filter, dev, mod)
	if !ok {
		return false
	}
	return rest == filterDeviceboundSuffix || (mod != "" && rest == filterInputsSuffix)
}

// PublishAllowed reports whether identity may publish to name: its own
// telemetry topic (device or module form as the identity says), twin GET,
// reported PATCH, method responses and credential requests. Another
// identity's topic, a hub-to-device topic or an unparseable name is refused.
func PublishAllowed(identity, name string) bool {
	dev, mod := splitIdentity(identity)
	if dev == "" {
		return false
	}
	t, err := parse(name, false)
	if err != nil {
		return false
	}
	switch t.Kind {
	case KindTelemetry:
		return t.DeviceID == dev && t.ModuleID == mod
	case KindTwinGet, KindTwinPatchReported, KindMethodResponse, KindCredentialRequest:
		return true
	}
	return false
}

// Delivery reports whether the hub may deliver a message published on name
// to identity: its own C2D or module-input topic, or one of the per-connection
// `$iothub/...` topics (twin response, desired patch, method request,
// credential response). mochi asks this (OnACLCheck with write false) before
// it writes a routed message to a subscriber.
func Delivery(identity, name string) bool {
	dev, mod := splitIdentity(identity)
	if dev == "" {
		return false
	}
	t, err := parse(name, false)
	if err != nil {
		return false
	}
	switch t.Kind {
	case KindC2D, KindModuleInput:
		return t.DeviceID == dev && t.ModuleID == mod
	case KindTwinResponse, KindDesiredPatch, KindMethodRequest, KindCredentialResponse:
		return true
	}
	return false
}

// splitIdentity splits a client ID into device and module. A client ID with
// more than one `/` or an empty module is not a valid identity.
func splitIdentity(identity string) (dev, mod string) {
	dev, mod, found := strings.Cut(identity, "/")
	if found && (mod == "" || strings.IndexByte(mod, '/') >= 0) {
		return "", ""
	}
	return dev, mod
}

// ownPrefix strips `devices/{dev}/` or `devices/{dev}/modules/{mod}/` from s
// without allocating.
func ownPrefix(s, dev, mod string) (string, bool) {
	s, ok := strings.CutPrefix(s, devicesPrefix)
	if !ok {
		return "", false
	}
	if s, ok = cutWord(s, dev); !ok || mod == "" {
		return s, ok
	}
	if s, ok = strings.CutPrefix(s, "modules/"); !ok {
		return "", false
	}
	return cutWord(s, mod)
}

// cutWord strips word + "/" from s.
func cutWord(s, word string) (string, bool) {
	if len(s) <= len(word) || s[len(word)] != '/' || s[:len(word)] != word {
		return "", false
	}
	return s[len(word)+1:], true
}
