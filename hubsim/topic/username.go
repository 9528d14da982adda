package topic

import "strings"

// Username is the parsed MQTT CONNECT user name of a hub device or module
// (PROTOCOL.md §1.2).
type Username struct {
	HostName   string // the logical hub host, as sent
	DeviceID   string
	ModuleID   string // "" for a device
	APIVersion string // api-version
	ModelID    string // model-id (Plug and Play), decoded
	ClientType string // DeviceClientType, decoded
}

// ParseUsername parses `{host}/{device}[/{module}]/?api-version=..&model-id=..
// &DeviceClientType=..`. The `?` is optional (amenzhinsky and old C SDKs send
// `{host}/{id}/api-version=...`); the query is split by hand on `&` and the
// first `=` and percent-decoded leniently, so a raw `dtmi:...;1` model ID is
// accepted. Unknown query keys are ignored; key names match case-insensitively.
// Only an empty host or device ID is an error: whether an api-version is
// required is the caller's policy.
func ParseUsername(u string) (Username, error) {
	var n Username
	host, rest, _ := strings.Cut(u, "/")
	dev, rest, _ := strings.Cut(rest, "/")
	if host == "" || dev == "" {
		return Username{}, newError("username", u, ErrMalformedUsername, "want {host}/{deviceId}/?api-version=...")
	}
	n.HostName, n.DeviceID = host, dev
	if !isQuery(rest) {
		n.ModuleID, rest, _ = strings.Cut(rest, "/")
	}
	n.setQuery(strings.TrimPrefix(rest, "?"))
	return n, nil
}

// isQuery reports whether what follows the device ID is the query rather
// than a module ID: it starts with `?` or `api-version=`, or it is the last
// segment and holds a `=`.
func isQuery(s string) bool {
	if s == "" || s[0] == '?' || hasPrefixFold(s, "api-version=") {
		return true
	}
	return strings.IndexByte(s, '/') < 0 && strings.IndexByte(s, '=') >= 0
}

func (n *Username) setQuery(q string) {
	for q != "" {
		var kv string
		kv, q, _ = strings.Cut(q, "&")
		k, v, _ := strings.Cut(kv, "=")
		switch k = unescape(k); {
		case strings.EqualFold(k, "api-version"):
			n.APIVersion = unescape(v)
		case strings.EqualFold(k, "model-id"):
			n.ModelID = unescape(v)
		case strings.EqualFold(k, "DeviceClientType"):
			n.ClientType = unescape(v)
		}
	}
}

func hasPrefixFold(s, prefix string) bool {
	return len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix)
}

// String formats u canonically: `{host}/{device}[/{module}]/?api-version=..`
// followed by `&model-id=..` and `&DeviceClientType=..` when set, values
// encoded like EncodeBag. ParseUsername reads it back.
func (u Username) String() string {
	s := u.HostName + "/" + u.DeviceID + "/"
	if u.ModuleID != "" {
		s += u.ModuleID + "/"
	}
	return s + "?" + EncodeBag(u.query())
}

func (u Username) query() []Prop {
	q := []Prop{{Key: "api-version", Value: u.APIVersion}}
	if u.ModelID != "" {
		q = append(q, Prop{Key: "model-id", Value: u.ModelID})
	}
	if u.ClientType != "" {
		q = append(q, Prop{Key: "DeviceClientType", Value: u.ClientType})
	}
	return q
}
