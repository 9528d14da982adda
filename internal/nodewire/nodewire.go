// Package nodewire holds the Node SDK packet capture, a copy of
// /work/shared/wire/node-sdk.jsonl (every packet Microsoft's Node SDKs sent
// in 14 flows; wire/README.md), and its reader, for tests. It uses the
// standard library only, so any test package can import it, hubsim/topic's
// internal tests included. Records is safe for concurrent use.
package nodewire

import (
	"bufio"
	"bytes"
	_ "embed"
	"encoding/base64"
	"encoding/json"
	"fmt"
)

//go:embed node-sdk.jsonl
var capture []byte

// Record is one packet of the capture, as far as the tests read it.
type Record struct {
	Flow       string `json:"flow"`
	Conn       int    `json:"conn"`
	Endpoint   string `json:"endpoint"`  // hub or dps
	Transport  string `json:"transport"` // mqtts or wss
	WSMessages struct {
		Count int `json:"count"`
	} `json:"wsBinaryMessages"` // how many WebSocket messages carried the packet
	Dir           string  `json:"dir"`  // c2s or s2c
	Type          string  `json:"type"` // the MQTT packet type, lower case: connect, publish, ...
	ClientID      string  `json:"clientId"`
	Username      string  `json:"username"`
	Password      *string `json:"password"`
	Topic         string  `json:"topic"`
	Subscriptions []struct {
		Topic string `json:"topic"`
	} `json:"subscriptions"`
	QoS           byte    `json:"qos"`
	MessageID     uint16  `json:"messageId"`
	PayloadText   *string `json:"payloadText"`   // the payload when it is UTF-8
	PayloadBase64 string  `json:"payloadBase64"` // otherwise
	Granted       []byte  `json:"granted"`
	ReturnCode    byte    `json:"returnCode"`
	ServerAction  string  `json:"serverAction"`
	RawBase64     string  `json:"rawBase64"` // the whole packet as sent
}

// Payload returns the PUBLISH payload, or nil if there is none or it does
// not decode.
func (r Record) Payload() []byte {
	if r.PayloadText != nil {
		return []byte(*r.PayloadText)
	}
	b, _ := base64.StdEncoding.DecodeString(r.PayloadBase64)
	return b
}

// Raw returns the packet's bytes as sent.
func (r Record) Raw() ([]byte, error) {
	return base64.StdEncoding.DecodeString(r.RawBase64)
}

// Records parses the capture, one Record per line in capture order. Each
// call parses afresh, so the caller owns the result.
func Records() ([]Record, error) {
	var recs []Record
	sc := bufio.NewScanner(bytes.NewReader(capture))
	sc.Buffer(nil, 1<<20)
	for line := 1; sc.Scan(); line++ {
		var r Record
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			return nil, fmt.Errorf("node-sdk.jsonl line %d: %w", line, err)
		}
		recs = append(recs, r)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("node-sdk.jsonl: %w", err)
	}
	return recs, nil
}
