package provision

import (
	"encoding/json"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// API versions. CSR-based certificate issuance needs the 2025 preview.
const (
	DefaultAPIVersion = "2025-07-01-preview"
	// GlobalHost is Azure's global DPS endpoint.
	GlobalHost = "global.azure-devices-provisioning.net"
)

// Registration statuses in RegistrationOperationStatus.
const (
	StatusUnassigned = "unassigned"
	StatusAssigning  = "assigning"
	StatusAssigned   = "assigned"
	StatusFailed     = "failed"
	StatusDisabled   = "disabled"
)

// Substatuses of an assigned registration.
const (
	SubstatusInitialAssignment  = "initialAssignment"
	SubstatusDeviceDataMigrated = "deviceDataMigrated"
	SubstatusDeviceDataReset    = "deviceDataReset"
	SubstatusReprovisioned      = "reprovisionedToInitialAssignment"
)

// RegisterRequest is the body of an iotdps-register publish.
type RegisterRequest struct {
	RegistrationID string          `json:"registrationId"`
	Payload        json.RawMessage `json:"payload,omitempty"`
	// CSR is a base64 DER PKCS#10 request (no PEM armour), api-version
	// 2025-07-01-preview.
	CSR string `json:"csr,omitempty"`
}

// OperationStatus is DPS's RegistrationOperationStatus.
type OperationStatus struct {
	OperationID       string             `json:"operationId"`
	Status            string             `json:"status"`
	RegistrationState *RegistrationState `json:"registrationState,omitempty"`
}

// RegistrationState is the state of one registration. Times are kept as
// DPS sends them (ISO 8601 text).
type RegistrationState struct {
	RegistrationID         string            `json:"registrationId"`
	CreatedDateTimeUTC     string            `json:"createdDateTimeUtc,omitempty"`
	AssignedHub            string            `json:"assignedHub,omitempty"`
	DeviceID               string            `json:"deviceId,omitempty"`
	Status                 string            `json:"status"`
	Substatus              string            `json:"substatus,omitempty"`
	ErrorCode              int               `json:"errorCode,omitempty"`
	ErrorMessage           string            `json:"errorMessage,omitempty"`
	LastUpdatedDateTimeUTC string            `json:"lastUpdatedDateTimeUtc,omitempty"`
	ETag                   string            `json:"etag,omitempty"`
	Payload                json.RawMessage   `json:"payload,omitempty"`
	X509                   *AttestationGroup `json:"x509,omitempty"`
	SymmetricKey           *AttestationGroup `json:"symmetricKey,omitempty"`
	// IssuedCertificateChain is base64 DER certificates, leaf first.
	IssuedCertificateChain []string `json:"issuedCertificateChain,omitempty"`
}

// AttestationGroup names the enrollment group a registration matched
// (empty for an individual enrollment).
type AttestationGroup struct {
	EnrollmentGroupID string `json:"enrollmentGroupId,omitempty"`
}

// ErrorBody is the body DPS sends with an error status.
type ErrorBody struct {
	ErrorCode    int    `json:"errorCode"`
	TrackingID   string `json:"trackingId,omitempty"`
	Message      string `json:"message"`
	TimestampUTC string `json:"timestampUtc,omitempty"`
}

// MQTT topics and filters (PROTOCOL.md §6).
const (
	ResponseFilter      = "$dps/registrations/res/#"
	responsePrefix      = "$dps/registrations/res/"
	registerTopicPrefix = "$dps/registrations/PUT/iotdps-register/"
	pollTopicPrefix     = "$dps/registrations/GET/iotdps-get-operationstatus/"
)

// RegisterTopic is the topic of a register request with request id rid.
func RegisterTopic(rid string) string { return registerTopicPrefix + "?$rid=" + url.QueryEscape(rid) }

// PollTopic is the topic of an operation-status request.
func PollTopic(rid, operationID string) string {
	return pollTopicPrefix + "?$rid=" + url.QueryEscape(rid) + "&operationId=" + url.QueryEscape(operationID)
}

// ResponseTopic formats a response topic; retryAfter < 0 leaves out the
// retry-after parameter, otherwise it is sent in whole seconds.
func ResponseTopic(status int, rid string, retryAfter time.Duration) string {
	t := responsePrefix + strconv.Itoa(status) + "/?$rid=" + url.QueryEscape(rid)
	if retryAfter >= 0 {
		t += "&retry-after=" + strconv.Itoa(int((retryAfter+time.Second-1)/time.Second))
	}
	return t
}

// Response is a parsed response topic.
type Response struct {
	Status     int
	RID        string
	RetryAfter time.Duration // -1 when absent
}

// ParseResponseTopic reads `$dps/registrations/res/{status}/?$rid=..[&retry-after=..]`.
func ParseResponseTopic(topic string) (Response, error) {
	rest, ok := strings.CutPrefix(topic, responsePrefix)
	if !ok {
		return Response{}, fmt.Errorf("not a DPS response topic: %q", topic)
	}
	code, query, _ := strings.Cut(rest, "/")
	status, err := strconv.Atoi(code)
	if err != nil || status < 100 || status > 599 {
		return Response{}, fmt.Errorf("DPS response topic %q: bad status", topic)
	}
	q := parseQuery(query)
	r := Response{Status: status, RID: q["$rid"], RetryAfter: -1}
	if s, ok := q["retry-after"]; ok {
		if n, err := strconv.Atoi(s); err == nil && n >= 0 {
			r.RetryAfter = time.Duration(n) * time.Second
		}
	}
	return r, nil
}

// Request kinds a device publishes.
const (
	KindRegister = "register"
	KindPoll     = "poll"
)

// Request is a parsed device request topic.
type Request struct {
	Kind        string
	RID         string
	OperationID string // polls only
}

// ParseRequestTopic reads a register or operation-status request topic.
func ParseRequestTopic(topic string) (Request, error) {
	var r Request
	var query string
	if q, ok := strings.CutPrefix(topic, registerTopicPrefix); ok {
		r.Kind, query = KindRegister, q
	} else if q, ok := strings.CutPrefix(topic, pollTopicPrefix); ok {
		r.Kind, query = KindPoll, q
	} else {
		return r, fmt.Errorf("not a DPS request topic: %q", topic)
	}
	v := parseQuery(query)
	r.RID, r.OperationID = v["$rid"], v["operationId"]
	if r.RID == "" || (r.Kind == KindPoll && r.OperationID == "") {
		return r, fmt.Errorf("DPS request topic %q: missing $rid or operationId", topic)
	}
	return r, nil
}

// parseQuery splits `?k=v&k=v` by hand (first `=`), unescaping leniently.
func parseQuery(q string) map[string]string {
	out := map[string]string{}
	for q = strings.TrimPrefix(q, "?"); q != ""; {
		var kv string
		kv, q, _ = strings.Cut(q, "&")
		k, v, _ := strings.Cut(kv, "=")
		if u, err := url.QueryUnescape(v); err == nil {
			v = u
		}
		if _, seen := out[k]; !seen {
			out[k] = v
		}
	}
	return out
}
