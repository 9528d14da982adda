package agent

import (
	"bytes"
	"encoding/json"
	"fmt"
)

// decodeObject parses a JSON object, keeping numbers exact.
func decodeObject(b []byte) (map[string]any, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		return nil, fmt.Errorf("decode desired patch: %w", err)
	}
	if m == nil {
		return nil, fmt.Errorf("decode desired patch: not a JSON object")
	}
	return m, nil
}
