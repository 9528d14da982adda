package update

import (
	"bytes"
	"encoding/json"
	"testing"
)

// FuzzParseService: whatever the twin carries in the desired deviceUpdate
// component, reading it never panics, and what it yields survives a
// round trip through the JSON the twin speaks.
func FuzzParseService(f *testing.F) {
	f.Add(`{"__t":"c","service":{"workflow":{"action":3,"id":"wf-1"},"updateManifest":"{}","updateManifestSignature":"x","fileUrls":{"f1":"https://x/a"}}}`)
	f.Add(`{"__t":"c","service":{"workflow":{"action":255,"id":"nodeployment"},"updateManifest":null}}`)
	f.Add(`{"service":{"workflow":{"action":1e300}}}`)
	f.Add(`{"service":[1,2,3]}`)
	f.Add(`{"service":null}`)
	f.Fuzz(func(t *testing.T, raw string) {
		dec := json.NewDecoder(bytes.NewReader([]byte(raw)))
		dec.UseNumber()
		var comp map[string]any
		if dec.Decode(&comp) != nil {
			return
		}
		su, ok := parseService(comp)
		if !ok {
			return
		}
		b, err := json.Marshal(su)
		if err != nil {
			t.Fatalf("parsed service does not encode: %v", err)
		}
		var again ServiceUpdate
		if err := json.Unmarshal(b, &again); err != nil || again.Workflow != su.Workflow {
			t.Fatalf("round trip: %v %+v vs %+v", err, again.Workflow, su.Workflow)
		}
	})
}
