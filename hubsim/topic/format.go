package topic

import (
	"strconv"
	"strings"
)

// Formatting. Arguments are placed as given: IDs and method names must not
// contain `/`, `?`, `+` or `#`, and a $rid must not contain `&` or `#`, or the
// result will not parse back. $rid values are echoed unencoded, as received.

// TwinResponse is the hub's answer to a twin request:
// $iothub/twin/res/{status}/?$rid={rid}[&$version={version}]; version 0 is
// omitted.
func TwinResponse(status int, rid string, version int) string {
	s := "$iothub/twin/res/" + strconv.Itoa(status) + "/?$rid=" + rid
	if version != 0 {
		s += "&$version=" + strconv.Itoa(version)
	}
	return s
}

// DesiredPatch is the desired-properties notification topic:
// $iothub/twin/PATCH/properties/desired/?$version={version}.
func DesiredPatch(version int) string {
	return "$iothub/twin/PATCH/properties/desired/?$version=" + strconv.Itoa(version)
}

// MethodRequest is a direct-method call: $iothub/methods/POST/{name}/?$rid={rid}.
func MethodRequest(name, rid string) string {
	return "$iothub/methods/POST/" + name + "/?$rid=" + rid
}

// CredentialResponse answers a certificate request (PROTOCOL.md §2.6):
// $iothub/credentials/res/{status}/?$rid={rid}.
func CredentialResponse(status int, rid string) string {
	return "$iothub/credentials/res/" + strconv.Itoa(status) + "/?$rid=" + rid
}

// C2D is a cloud-to-device delivery: devices/{id}/messages/devicebound/{bag},
// the bag encoded by EncodeBag.
func C2D(deviceID string, props []Prop) string {
	return withBag("devices/"+deviceID+"/messages/devicebound/", props)
}

// ModuleInput is a message routed to a module input:
// devices/{d}/modules/{m}/inputs/{input}/{bag}.
func ModuleInput(deviceID, moduleID, input string, props []Prop) string {
	return withBag("devices/"+deviceID+"/modules/"+moduleID+"/inputs/"+input+"/", props)
}

// Device-side formatters, for device simulators and tests.

// Telemetry is a device-to-cloud message topic:
// devices/{d}[/modules/{m}]/messages/events/{bag}. moduleID "" is a device.
func Telemetry(deviceID, moduleID string, props []Prop) string {
	p := "devices/" + deviceID + "/"
	if moduleID != "" {
		p += "modules/" + moduleID + "/"
	}
	return withBag(p+"messages/events/", props)
}

// TwinGet is a device's twin GET: $iothub/twin/GET/?$rid={rid}.
func TwinGet(rid string) string { return "$iothub/twin/GET/?$rid=" + rid }

// TwinPatchReported is a device's reported-properties update:
// $iothub/twin/PATCH/properties/reported/?$rid={rid}.
func TwinPatchReported(rid string) string {
	return "$iothub/twin/PATCH/properties/reported/?$rid=" + rid
}

// MethodResponse is a device's answer to a method call:
// $iothub/methods/res/{status}/?$rid={rid}.
func MethodResponse(status int, rid string) string {
	return "$iothub/methods/res/" + strconv.Itoa(status) + "/?$rid=" + rid
}

func withBag(prefix string, props []Prop) string {
	if len(props) == 0 {
		return prefix
	}
	var b strings.Builder
	b.Grow(len(prefix) + bagLen(props))
	b.WriteString(prefix)
	for i, p := range props {
		if i > 0 {
			b.WriteByte('&')
		}
		escapeTo(&b, p.Key)
		if !p.Null {
			b.WriteByte('=')
			escapeTo(&b, p.Value)
		}
	}
	return b.String()
}
