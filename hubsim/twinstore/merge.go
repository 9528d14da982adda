package twinstore

import (
	"encoding/json"
	"time"
)

// Size rule (PROTOCOL.md §2.4): the sum of key lengths and value lengths,
// where a string counts its UTF-8 bytes, a number 8, a boolean 4, an
// object the sum of its members and an array the sum of its elements. A
// null inside an array (the only place a stored null can be) counts 4.
// `$version` and `$metadata` are not part of a section.
const (
	numberSize = 8
	boolSize   = 4
	nullSize   = 4
)

// sizeOf is the size of a stored value.
func sizeOf(v any) int {
	switch v := v.(type) {
	case map[string]any:
		n := 0
		for k, e := range v {
			n += len(k) + sizeOf(e)
		}
		return n
	case []any:
		n := 0
		for _, e := range v {
			n += sizeOf(e)
		}
		return n
	case string:
		return len(v)
	case json.Number:
		return numberSize
	case bool:
		return boolSize
	}
	return nullSize
}

// mergedSize is the size old would have after merge(old, patch), computed
// without changing old. A nil old is an empty object.
func mergedSize(old, patch map[string]any) int {
	n := sizeOf(old)
	for k, pv := range patch {
		ov, had := old[k]
		if had {
			n -= len(k) + sizeOf(ov)
		}
		if pv == nil {
			continue
		}
		n += len(k)
		pm, isObj := pv.(map[string]any)
		if !isObj {
			n += sizeOf(pv)
			continue
		}
		om, _ := ov.(map[string]any)
		n += mergedSize(om, pm)
	}
	return n
}

// metaNode is one node of a section's $metadata tree: when the property (or
// object) was last updated, at which section version, and its children.
type metaNode struct {
	updated  time.Time
	version  int // $lastUpdatedVersion; 0 = not recorded
	children map[string]*metaNode
}

// stamp is what a patch writes into the metadata it touches.
type stamp struct {
	now     time.Time
	version int // 0 = do not record $lastUpdatedVersion
}

// merge applies patch to dst recursively (null deletes, objects merge,
// anything else replaces) and stamps every touched metadata node. meta may
// be nil (tags keep no metadata). patch must be validated: merge cannot
// fail, which is what makes an update atomic.
func merge(dst map[string]any, meta *metaNode, patch map[string]any, st stamp) {
	if meta != nil {
		meta.updated, meta.version = st.now, st.version
	}
	for k, pv := range patch {
		if pv == nil {
			delete(dst, k)
			meta.remove(k)
			continue
		}
		pm, isObj := pv.(map[string]any)
		if !isObj {
			dst[k] = pv
			meta.replace(k, st)
			continue
		}
		dm, isObj := dst[k].(map[string]any)
		if !isObj {
			dm = make(map[string]any, len(pm))
			dst[k] = dm
			meta.replace(k, st)
		}
		merge(dm, meta.child(k, st), pm, st)
	}
}

func (m *metaNode) remove(k string) {
	if m != nil {
		delete(m.children, k)
	}
}

// replace gives k a fresh metadata node with no children.
func (m *metaNode) replace(k string, st stamp) {
	if m == nil {
		return
	}
	if m.children == nil {
		m.children = make(map[string]*metaNode)
	}
	m.children[k] = &metaNode{updated: st.now, version: st.version}
}

// child returns k's node, creating it if missing.
func (m *metaNode) child(k string, st stamp) *metaNode {
	if m == nil {
		return nil
	}
	if c := m.children[k]; c != nil {
		return c
	}
	m.replace(k, st)
	return m.children[k]
}

// timeFormat is IoT Hub's $lastUpdated format (UTC, milliseconds).
const timeFormat = "2006-01-02T15:04:05.000Z"

// toMap renders the node as $metadata JSON would show it.
func (m *metaNode) toMap() map[string]any {
	out := make(map[string]any, len(m.children)+2)
	out["$lastUpdated"] = m.updated.UTC().Format(timeFormat)
	if m.version != 0 {
		out["$lastUpdatedVersion"] = m.version
	}
	for k, c := range m.children {
		out[k] = c.toMap()
	}
	return out
}

// copyValue deep-copies a stored JSON value.
func copyValue(v any) any {
	switch v := v.(type) {
	case map[string]any:
		return copyObject(v)
	case []any:
		out := make([]any, len(v))
		for i, e := range v {
			out[i] = copyValue(e)
		}
		return out
	}
	return v // string, json.Number, bool, nil are immutable
}

func copyObject(m map[string]any) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = copyValue(v)
	}
	return out
}
