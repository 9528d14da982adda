package twinstore

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"time"
)

// savedTwin is a twin as Export writes it and Import reads it: everything
// the document holds, $metadata times to the nanosecond.
type savedTwin struct {
	ETag     string         `json:"etag"`
	Version  int            `json:"version"`
	Tags     map[string]any `json:"tags"`
	Desired  savedSection   `json:"desired"`
	Reported savedSection   `json:"reported"`
}

type savedSection struct {
	Props   map[string]any `json:"props"`
	Version int            `json:"version"`
	Meta    *savedMeta     `json:"meta"`
}

type savedMeta struct {
	Updated  time.Time             `json:"t"`
	Version  int                   `json:"v,omitempty"`
	Children map[string]*savedMeta `json:"c,omitempty"`
}

// Export returns a device's twin as saved state (JSON) and its etag, for
// Import into another store: a hub starting again on its state directory.
func (s *Store) Export(deviceID string) (raw []byte, etag string, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	d, ok := s.docs[deviceID]
	if !ok {
		return nil, "", notFound(deviceID)
	}
	raw, err = json.Marshal(savedTwin{ETag: d.etag, Version: d.version, Tags: d.tags,
		Desired: d.desired.save(), Reported: d.reported.save()})
	if err != nil {
		return nil, "", fmt.Errorf("export twin %q: %w", deviceID, err)
	}
	return raw, d.etag, nil
}

func (sec *section) save() savedSection {
	return savedSection{Props: sec.props, Version: sec.version, Meta: sec.meta.save()}
}

func (m *metaNode) save() *savedMeta {
	if m == nil {
		return nil
	}
	out := &savedMeta{Updated: m.updated, Version: m.version}
	if len(m.children) > 0 {
		out.Children = make(map[string]*savedMeta, len(m.children))
		for k, c := range m.children {
			out.Children[k] = c.save()
		}
	}
	return out
}

// Import sets a device's twin to what Export returned, replacing any twin
// it has: same versions, etag, tags, properties and $metadata. Etags handed
// out later continue after the imported one.
func (s *Store) Import(deviceID string, raw []byte) error {
	if deviceID == "" {
		return invalid("empty device ID")
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber() // numbers stay json.Number, as decodePatch leaves them
	var t savedTwin
	if err := dec.Decode(&t); err != nil {
		return fmt.Errorf("import twin %q: %w", deviceID, err)
	}
	d := &twinDoc{etag: t.ETag, version: t.Version, tags: orEmpty(t.Tags),
		desired: t.Desired.load(true), reported: t.Reported.load(false)}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.docs[deviceID] = d
	s.seq = max(s.seq, etagNumber(t.ETag))
	return nil
}

func (ss savedSection) load(recordVersion bool) section {
	meta := ss.Meta.load()
	if meta == nil {
		meta = &metaNode{}
	}
	return section{props: orEmpty(ss.Props), meta: meta, version: ss.Version, recordVersion: recordVersion}
}

func (m *savedMeta) load() *metaNode {
	if m == nil {
		return nil
	}
	out := &metaNode{updated: m.Updated, version: m.Version}
	if len(m.Children) > 0 {
		out.children = make(map[string]*metaNode, len(m.Children))
		for k, c := range m.Children {
			if n := c.load(); n != nil {
				out.children[k] = n
			}
		}
	}
	return out
}

func orEmpty(m map[string]any) map[string]any {
	if m == nil {
		return map[string]any{}
	}
	return m
}

// ETags returns every twin's current etag by device ID.
func (s *Store) ETags() map[string]string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]string, len(s.docs))
	for id, d := range s.docs {
		out[id] = d.etag
	}
	return out
}

// ChangeMark changes whenever a twin is created, updated or deleted: every
// create and update takes a new etag number, and a delete changes the
// count. A persister compares two marks to skip an unchanged store.
func (s *Store) ChangeMark() (seq uint64, n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.seq, len(s.docs)
}

// etagNumber is the counter an etag encodes (0 for one no store made).
func etagNumber(s string) uint64 {
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil || len(b) != 8 {
		return 0
	}
	return binary.BigEndian.Uint64(b)
}
