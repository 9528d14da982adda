package twinstore

import (
	"bytes"
	"encoding/json"
	"strconv"
)

// Twin is the service view of a twin, a copy the caller owns. Numbers in
// Props and Tags are json.Number.
type Twin struct {
	DeviceID string
	ETag     string
	Version  int
	Tags     map[string]any
	Desired  Section
	Reported Section
}

// Section is desired or reported properties with their $version and
// $metadata. Metadata mirrors the property tree: every object and leaf has
// "$lastUpdated" (UTC "2006-01-02T15:04:05.000Z"); in desired also
// "$lastUpdatedVersion", as IoT Hub shows it.
type Section struct {
	Props    map[string]any
	Version  int
	Metadata map[string]any
}

// MarshalJSON gives the service shape:
// {"deviceId":..,"etag":..,"version":..,"tags":{..},
// "properties":{"desired":{...,"$metadata":{..},"$version":N},"reported":{..}}}.
func (t Twin) MarshalJSON() ([]byte, error) {
	type properties struct {
		Desired  Section `json:"desired"`
		Reported Section `json:"reported"`
	}
	tags := t.Tags
	if tags == nil {
		tags = map[string]any{}
	}
	return json.Marshal(struct {
		DeviceID   string         `json:"deviceId"`
		ETag       string         `json:"etag"`
		Version    int            `json:"version"`
		Tags       map[string]any `json:"tags"`
		Properties properties     `json:"properties"`
	}{t.DeviceID, t.ETag, t.Version, tags, properties{t.Desired, t.Reported}})
}

// MarshalJSON gives {...props,"$metadata":{..},"$version":N}.
func (s Section) MarshalJSON() ([]byte, error) {
	meta, err := json.Marshal(s.Metadata)
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	err = appendObject(&b, s.Props, `"$metadata":`+string(meta), versionMember(s.Version))
	return b.Bytes(), err
}

// deviceDoc renders the device GET body of d.
func deviceDoc(d *twinDoc) ([]byte, error) {
	var b bytes.Buffer
	b.WriteString(`{"desired":`)
	if err := appendObject(&b, d.desired.props, versionMember(d.desired.version)); err != nil {
		return nil, err
	}
	b.WriteString(`,"reported":`)
	if err := appendObject(&b, d.reported.props, versionMember(d.reported.version)); err != nil {
		return nil, err
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// encodeWithVersion renders a patch as a desired notification body.
func encodeWithVersion(p map[string]any, version int) ([]byte, error) {
	var b bytes.Buffer
	err := appendObject(&b, p, versionMember(version))
	return b.Bytes(), err
}

func versionMember(v int) string { return `"$version":` + strconv.Itoa(v) }

// appendObject writes props as a JSON object (keys sorted, HTML not
// escaped) with extra pre-encoded members appended at the end.
func appendObject(b *bytes.Buffer, props map[string]any, extra ...string) error {
	start := b.Len()
	enc := json.NewEncoder(b)
	enc.SetEscapeHTML(false)
	if props == nil {
		props = map[string]any{}
	}
	if err := enc.Encode(props); err != nil {
		b.Truncate(start)
		return err
	}
	b.Truncate(b.Len() - 2) // "}\n"
	for i, m := range extra {
		if i > 0 || len(props) > 0 {
			b.WriteByte(',')
		}
		b.WriteString(m)
	}
	b.WriteByte('}')
	return nil
}
