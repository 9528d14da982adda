package model

import (
	_ "embed"
	"encoding/json"
	"fmt"
)

// ID is the model id the agent announces (the "@id" of cartoagent.json).
const ID = "dtmi:cloudpillar:cartoAgent;1"

//go:embed cartoagent.json
var interfaceJSON []byte

// Content is one entry of the interface.
type Content struct {
	Type     string `json:"@type"`
	Name     string `json:"name"`
	Writable bool   `json:"writable"`
}

// Interface is the parts of the DTDL interface the agent checks itself against.
type Interface struct {
	ID       string    `json:"@id"`
	Contents []Content `json:"contents"`
}

// JSON returns the DTDL document.
func JSON() []byte { return append([]byte(nil), interfaceJSON...) }

// Load parses the embedded interface.
func Load() (*Interface, error) {
	var in Interface
	if err := json.Unmarshal(interfaceJSON, &in); err != nil {
		return nil, fmt.Errorf("model: parse cartoagent.json: %w", err)
	}
	if in.ID != ID {
		return nil, fmt.Errorf("model: cartoagent.json declares %q, the agent announces %q", in.ID, ID)
	}
	return &in, nil
}

// Has reports whether the interface declares a content of the given type
// ("Property", "Telemetry") and name, and for properties whether it is
// writable.
func (in *Interface) Has(typ, name string, writable bool) bool {
	for _, c := range in.Contents {
		if c.Type == typ && c.Name == name && c.Writable == writable {
			return true
		}
	}
	return false
}
