package registry

import (
	"encoding/base64"
	"encoding/binary"
	"time"
)

// Restore puts identities saved from an earlier registry (a hub starting
// again on its state directory) back as they were: generation ids, etags,
// status and credentials stay; every identity starts disconnected. An
// identity already present is replaced. Etags handed out later continue
// after the highest restored one, so no two states of an identity share
// an etag.
func (r *Registry) Restore(devs ...Device) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, d := range devs {
		if old, ok := r.devices[d.ID]; ok && old.Connected {
			r.connected--
		}
		d.Connected, d.ConnectionStateUpdatedTime = false, time.Time{}
		r.seq = max(r.seq, etagNumber(d.ETag))
		r.devices[d.ID] = &d
	}
}

// ChangeMark changes whenever an identity is created, updated or deleted
// (not when it connects or disconnects): every create and update takes a
// new etag number, and a delete changes the count. A persister compares
// two marks to skip scanning an unchanged registry.
func (r *Registry) ChangeMark() (seq uint64, n int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.seq, len(r.devices)
}

// etagNumber is the counter an etag encodes (0 for one this registry did
// not make).
func etagNumber(s string) uint64 {
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil || len(b) != 8 {
		return 0
	}
	return binary.BigEndian.Uint64(b)
}
