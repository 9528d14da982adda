package eventlog

// Properties the hub stamps on every recorded message (PROTOCOL.md §2.1);
// the Event Hubs-compatible endpoint of IoT Hub shows the same names.
const (
	PropDeviceID     = "iothub-connection-device-id"
	PropModuleID     = "iothub-connection-module-id"
	PropAuthMethod   = "iothub-connection-auth-method"
	PropGenerationID = "iothub-connection-auth-generation-id"
	PropEnqueuedTime = "iothub-enqueuedtime"
	PropSource       = "iothub-message-source" // always SourceTelemetry here
	PropDataSchema   = "dt-dataschema"         // the model id the device announced
	PropRetain       = "mqtt-retain"           // "true" when the device set RETAIN (ignored otherwise)
	PropMessageType  = "iothub-MessageType"    // MessageTypeWill for a will message
)

// Property values.
const (
	SourceTelemetry = "Telemetry"
	MessageTypeWill = "Will"
)

// TimeFormat is how PropEnqueuedTime is written: UTC with milliseconds.
const TimeFormat = "2006-01-02T15:04:05.000Z"
