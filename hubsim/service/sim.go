package service

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/cloudpillar/cloudpillar/hubsim/blob"
	"github.com/cloudpillar/cloudpillar/hubsim/eventlog"
)

// C2DMessage is a cloud-to-device message for Config.SendC2D.
type C2DMessage struct {
	Body          []byte
	Properties    map[string]string // application properties
	MessageID     string
	CorrelationID string
	Ack           string // iothub-ack: none, positive, negative or full
}

// eventJSON is one recorded D2C message in GET /_sim/devices/{id}/events.
type eventJSON struct {
	SequenceNumber   int64             `json:"sequenceNumber"`
	MessageID        string            `json:"messageId"`
	EnqueuedTime     string            `json:"enqueuedTime"`
	Body             *string           `json:"body,omitempty"`       // UTF-8 text
	BodyBase64       *string           `json:"bodyBase64,omitempty"` // otherwise
	Properties       map[string]string `json:"properties"`
	SystemProperties map[string]string `json:"systemProperties"`
}

// systemNames maps property-bag system keys to IoT Hub's names for them.
var systemNames = map[string]string{
	"$.mid": "message-id", "$.cid": "correlation-id", "$.uid": "user-id", "$.ct": "content-type",
	"$.ce": "content-encoding", "$.exp": "absolute-expiry-time", "$.ctime": "iothub-creation-time-utc",
	"$.to": "to", "$.sub": "dt-subject", "$.ifid": "iothub-interface-id", "$.on": "iothub-outputname",
}

// simEvents lists the D2C messages the hub kept for a device (the hub must
// keep events: hubsim.Config.KeepEvents), optionally only those with a
// sequence number above ?after=.
func (h *Handler) simEvents(w http.ResponseWriter, r *http.Request) *Error {
	id := r.PathValue("id")
	after, err := strconv.ParseInt(r.URL.Query().Get("after"), 10, 64)
	if r.URL.Query().Get("after") == "" {
		after, err = 0, nil
	}
	if err != nil {
		return errInvalid("after must be a sequence number")
	}
	out := []eventJSON{}
	if h.cfg.Events != nil {
		for _, e := range h.cfg.Events.Events() {
			if e.DeviceID == id && e.Seq > after {
				out = append(out, renderEvent(e))
			}
		}
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func renderEvent(e eventlog.Event) eventJSON {
	out := eventJSON{
		SequenceNumber: e.Seq, MessageID: e.MessageID, EnqueuedTime: e.EnqueuedTime.UTC().Format(time.RFC3339Nano),
		Properties: map[string]string{}, SystemProperties: map[string]string{
			"iothub-connection-device-id": e.DeviceID,
			"iothub-enqueuedtime":         e.EnqueuedTime.UTC().Format(time.RFC3339Nano),
		},
	}
	for k, v := range e.Properties {
		switch {
		case systemNames[k] != "":
			out.SystemProperties[systemNames[k]] = v
		case strings.HasPrefix(k, "$."):
			out.SystemProperties[k[2:]] = v
		case strings.HasPrefix(k, "iothub-"), strings.HasPrefix(k, "dt-"):
			out.SystemProperties[k] = v
		default:
			out.Properties[k] = v
		}
	}
	if utf8.Valid(e.Body) {
		s := string(e.Body)
		out.Body = &s
	} else {
		s := base64.StdEncoding.EncodeToString(e.Body)
		out.BodyBase64 = &s
	}
	return out
}

// simSendC2D queues a C2D message: body {"body":"text" or any JSON,
// "bodyBase64":"..", "properties":{..}, "messageId", "correlationId",
// "ack"}; 202.
func (h *Handler) simSendC2D(w http.ResponseWriter, r *http.Request) *Error {
	id := r.PathValue("id")
	var body struct {
		Body          json.RawMessage   `json:"body"`
		BodyBase64    string            `json:"bodyBase64"`
		Properties    map[string]string `json:"properties"`
		MessageID     string            `json:"messageId"`
		CorrelationID string            `json:"correlationId"`
		Ack           string            `json:"ack"`
	}
	if e := decodeBody(r, &body); e != nil {
		return e
	}
	msg := C2DMessage{Properties: body.Properties, MessageID: body.MessageID, CorrelationID: body.CorrelationID, Ack: body.Ack}
	switch {
	case body.BodyBase64 != "":
		b, err := base64.StdEncoding.DecodeString(body.BodyBase64)
		if err != nil {
			return errInvalid("bodyBase64 is not base64")
		}
		msg.Body = b
	case len(body.Body) > 0 && body.Body[0] == '"':
		var s string
		_ = json.Unmarshal(body.Body, &s) // a valid JSON string: decodeBody checked the syntax
		msg.Body = []byte(s)
	case len(body.Body) > 0 && string(body.Body) != "null":
		msg.Body = body.Body
	}
	if _, err := h.cfg.Registry.Get(id); err != nil {
		return errDeviceNotFound(id)
	}
	if h.cfg.SendC2D == nil {
		// TODO(hubsim): wire Hub.SendC2D (device-facing C2D queue) when it lands.
		return errNotImplemented("cloud-to-device messages")
	}
	if err := h.cfg.SendC2D(id, msg); err != nil {
		return asError(err)
	}
	w.WriteHeader(http.StatusAccepted)
	return nil
}

// simFiles lists the file-upload notifications so far.
func (h *Handler) simFiles(w http.ResponseWriter, r *http.Request) *Error {
	notes := []blob.Notification{}
	if h.cfg.Files != nil {
		notes = append(notes, h.cfg.Files.Notifications()...)
	}
	writeJSON(w, http.StatusOK, notes)
	return nil
}
