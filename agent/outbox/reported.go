package outbox

import (
	"bytes"
	"encoding/json"
	"fmt"

	"go.etcd.io/bbolt"
)

// Reported state is one coalesced patch. Every PutReported increments the
// generation and stamps each value it sets with it; AckReported(g) removes
// what was set at generation g or earlier and keeps anything newer, so a
// patch merged while an older one was in flight is never lost.
//
// The patch is kept as a tree of nodes under the meta key "reported", JSON
// encoded. Numbers come back from PendingReported as json.Number, so large
// integers keep every digit.

// rnode is one key of the pending patch: an object (Obj) or a leaf value.
type rnode struct {
	Gen uint64            `json:"g"`
	Obj bool              `json:"o,omitempty"`
	Val any               `json:"v,omitempty"`
	Sub map[string]*rnode `json:"c,omitempty"`
}

// reportedDoc is the stored form.
type reportedDoc struct {
	Version int               `json:"version"`
	Keys    map[string]*rnode `json:"keys"`
}

const reportedV1 = 1

// PutReported merges patch into the pending reported patch: later keys
// win, objects merge key by key, and a nil value (JSON null, "delete this
// property") is kept as a value. The patch must encode as JSON.
func (s *Store) PutReported(patch map[string]any) error {
	norm, err := normalise(patch)
	if err != nil {
		return fmt.Errorf("outbox put reported: patch is not a JSON object: %w", err)
	}
	return s.update("put reported", func(tx *bbolt.Tx) (func(), error) {
		meta := tx.Bucket(s.names.meta)
		keys, commit, err := s.loadReportedForWrite(tx)
		if err != nil {
			return nil, err
		}
		gen := getUint(meta, keyReportedGen) + 1
		mergeReported(keys, norm, gen)
		if err := putUint(meta, keyReportedGen, gen); err != nil {
			return nil, err
		}
		return commit, s.storeReported(meta, keys)
	})
}

// PendingReported returns the merged patch waiting for the hub and the
// generation to pass to AckReported; ok is false when nothing is pending.
// A read error is logged and reported as nothing pending.
func (s *Store) PendingReported() (patch map[string]any, generation uint64, ok bool) {
	err := s.view("pending reported", func(tx *bbolt.Tx) error {
		meta := tx.Bucket(s.names.meta)
		keys, _ := s.loadReported(meta)
		if len(keys) > 0 {
			patch, generation, ok = renderReported(keys), getUint(meta, keyReportedGen), true
		}
		return nil
	})
	if err != nil {
		s.log.Error("outbox: read pending reported patch", "err", err)
		return nil, 0, false
	}
	return patch, generation, ok
}

// AckReported removes what the hub acknowledged: every value merged at
// generation or earlier. Values merged later stay pending.
func (s *Store) AckReported(generation uint64) error {
	return s.update("ack reported", func(tx *bbolt.Tx) (func(), error) {
		meta := tx.Bucket(s.names.meta)
		if latest := getUint(meta, keyReportedGen); generation > latest {
			return nil, fmt.Errorf("generation %d was never issued (latest is %d)", generation, latest)
		}
		keys, commit, err := s.loadReportedForWrite(tx)
		if err != nil {
			return nil, err
		}
		pruneReported(keys, generation)
		return commit, s.storeReported(meta, keys)
	})
}

// loadReportedForWrite loads the patch in a write transaction. A stored
// patch that fails to decode is replaced by what the caller stores, and
// counted in Stats.Corrupt, rather than blocking reported state forever.
func (s *Store) loadReportedForWrite(tx *bbolt.Tx) (map[string]*rnode, func(), error) {
	keys, bad := s.loadReported(tx.Bucket(s.names.meta))
	if !bad {
		return keys, nil, nil
	}
	w := s.newWriterLocked(tx)
	w.corrupt++
	if err := w.finish(); err != nil {
		return nil, nil, err
	}
	return keys, func() { w.applyLocked(0, 0) }, nil
}

// loadReported decodes the stored patch; bad reports a stored patch that
// failed to decode (logged, and returned as empty).
func (s *Store) loadReported(meta *bbolt.Bucket) (keys map[string]*rnode, bad bool) {
	raw := meta.Get(keyReported)
	if raw == nil {
		return map[string]*rnode{}, false
	}
	var doc reportedDoc
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	err := dec.Decode(&doc)
	if err == nil && doc.Version != reportedV1 {
		err = fmt.Errorf("version %d, want %d", doc.Version, reportedV1)
	}
	if err == nil {
		err = checkReported(doc.Keys)
	}
	if err != nil {
		s.log.Error("outbox: reported patch failed to decode; it will be replaced", "bytes", len(raw), "err", err)
		return map[string]*rnode{}, true
	}
	if doc.Keys == nil {
		doc.Keys = map[string]*rnode{}
	}
	return doc.Keys, false
}

func (s *Store) storeReported(meta *bbolt.Bucket, keys map[string]*rnode) error {
	if len(keys) == 0 {
		return meta.Delete(keyReported)
	}
	b, err := json.Marshal(reportedDoc{Version: reportedV1, Keys: keys})
	if err != nil {
		return fmt.Errorf("encode reported patch: %w", err)
	}
	return meta.Put(keyReported, b)
}

// normalise round-trips patch through JSON so that structs and typed maps
// become map[string]any and numbers json.Number.
func normalise(patch map[string]any) (map[string]any, error) {
	b, err := json.Marshal(patch)
	if err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var out map[string]any
	if err := dec.Decode(&out); err != nil {
		return nil, err
	}
	return out, nil
}

// mergeReported merges patch into keys, stamping what it sets with gen. An
// object merges into an existing object; anything else replaces.
func mergeReported(keys map[string]*rnode, patch map[string]any, gen uint64) {
	for k, v := range patch {
		obj, isObj := v.(map[string]any)
		if !isObj {
			keys[k] = &rnode{Gen: gen, Val: v}
			continue
		}
		n := keys[k]
		if n == nil || !n.Obj {
			n = &rnode{Gen: gen, Obj: true, Sub: map[string]*rnode{}}
			keys[k] = n
		}
		if n.Sub == nil {
			n.Sub = map[string]*rnode{}
		}
		mergeReported(n.Sub, obj, gen)
	}
}

// pruneReported removes values set at gen or earlier, and objects that
// were created at gen or earlier and have nothing newer left inside.
func pruneReported(keys map[string]*rnode, gen uint64) {
	for k, n := range keys {
		if n.Obj {
			pruneReported(n.Sub, gen)
			if len(n.Sub) == 0 && n.Gen <= gen {
				delete(keys, k)
			}
			continue
		}
		if n.Gen <= gen {
			delete(keys, k)
		}
	}
}

// checkReported rejects a decoded tree with missing nodes.
func checkReported(keys map[string]*rnode) error {
	for k, n := range keys {
		if n == nil {
			return fmt.Errorf("key %q has no node", k)
		}
		if err := checkReported(n.Sub); err != nil {
			return fmt.Errorf("%q: %w", k, err)
		}
	}
	return nil
}

func renderReported(keys map[string]*rnode) map[string]any {
	out := make(map[string]any, len(keys))
	for k, n := range keys {
		if n.Obj {
			out[k] = renderReported(n.Sub)
		} else {
			out[k] = n.Val
		}
	}
	return out
}
