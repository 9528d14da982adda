package telemetry

import (
	"encoding/json"
	"fmt"
	"time"
)

// Message is one telemetry message waiting for the hub's acknowledgement.
type Message struct {
	ID         string
	Payload    []byte
	Properties map[string]string
	Created    time.Time
}

// MessageID formats "<deviceId>-<boot>-<seq>".
func MessageID(deviceID string, boot, seq uint64) string {
	return fmt.Sprintf("%s-%d-%d", deviceID, boot, seq)
}

// Sample is the body of one telemetry message.
type Sample struct {
	DeviceID  string         `json:"deviceId"`
	Seq       uint64         `json:"seq"`
	Time      time.Time      `json:"ts"`
	CaseState string         `json:"caseState"`
	Heartbeat bool           `json:"heartbeat,omitempty"` // reduced sample while a case is live
	Metrics   map[string]any `json:"metrics,omitempty"`
	// Batch holds several readings sent as one message (Config.BatchSamples);
	// Time and CaseState are then those of the last reading.
	Batch []Reading `json:"batch,omitempty"`
}

// Reading is one sample inside a batched message.
type Reading struct {
	Time      time.Time      `json:"ts"`
	CaseState string         `json:"caseState"`
	Metrics   map[string]any `json:"metrics,omitempty"`
}

// Build makes the message for a sample: JSON body, with content type and
// encoding set so IoT Hub can route on the body (PROTOCOL.md §2.1).
func Build(id string, s Sample) (Message, error) {
	b, err := json.Marshal(s)
	if err != nil {
		return Message{}, fmt.Errorf("encode telemetry %s: %w", id, err)
	}
	return Message{
		ID:      id,
		Payload: b,
		Properties: map[string]string{
			"$.ct": "application/json",
			"$.ce": "utf-8",
		},
		Created: s.Time,
	}, nil
}
