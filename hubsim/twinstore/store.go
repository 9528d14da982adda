package twinstore

import (
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"sync"
	"time"
)

// Clock is the time source for $lastUpdated.
type Clock interface{ Now() time.Time }

type wallClock struct{}

func (wallClock) Now() time.Time { return time.Now() }

// Store holds the twins of all devices. The key is an opaque identity: a
// device ID, or `{device}/{module}` for a module twin.
type Store struct {
	clock Clock

	mu   sync.Mutex
	docs map[string]*twinDoc // guarded by mu
	seq  uint64              // last etag number handed out; guarded by mu
}

// twinDoc is one twin. All fields are guarded by Store.mu.
type twinDoc struct {
	etag     string
	version  int // twin version: +1 per accepted update of any section
	tags     map[string]any
	desired  section
	reported section
}

// section is desired or reported properties.
type section struct {
	props   map[string]any
	meta    *metaNode
	version int // $version
	// recordVersion: metadata nodes carry $lastUpdatedVersion (desired does
	// in IoT Hub's documents, reported does not).
	recordVersion bool
}

// New returns an empty store; a nil clock is the wall clock.
func New(c Clock) *Store {
	if c == nil {
		c = wallClock{}
	}
	return &Store{clock: c, docs: make(map[string]*twinDoc)}
}

// Create makes the twin of a new device: empty tags, desired and reported
// sections at $version 1 (as IoT Hub creates them), twin version 1.
func (s *Store) Create(deviceID string) error {
	if deviceID == "" {
		return invalid("empty device ID")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.docs[deviceID]; ok {
		return fmt.Errorf("twin %q: %w", deviceID, ErrExists)
	}
	now := s.clock.Now()
	d := &twinDoc{
		version:  1,
		tags:     map[string]any{},
		desired:  newSection(now, true),
		reported: newSection(now, false),
	}
	d.etag = s.nextETagLocked()
	s.docs[deviceID] = d
	return nil
}

func newSection(now time.Time, recordVersion bool) section {
	sec := section{props: map[string]any{}, version: 1, recordVersion: recordVersion}
	sec.meta = &metaNode{updated: now, version: sec.stampVersion(1)}
	return sec
}

// stampVersion is the $lastUpdatedVersion to record for section version v.
func (sec *section) stampVersion(v int) int {
	if sec.recordVersion {
		return v
	}
	return 0
}

// nextETagLocked returns a new etag: base64 of a big-endian counter shared
// by all twins, so no two states (even across delete and re-create) share
// one. IoT Hub's etags look the same ("AAAAAAAAAAE=").
func (s *Store) nextETagLocked() string {
	s.seq++
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], s.seq)
	return base64.StdEncoding.EncodeToString(b[:])
}

// Delete removes a device's twin; deleting an unknown device does nothing.
func (s *Store) Delete(deviceID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.docs, deviceID)
}

// DeviceDoc is the body of a device's twin GET response:
// {"desired":{...,"$version":N},"reported":{...,"$version":M}}, no $metadata.
func (s *Store) DeviceDoc(deviceID string) ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	d, ok := s.docs[deviceID]
	if !ok {
		return nil, notFound(deviceID)
	}
	return deviceDoc(d)
}

// PatchReported merges a device's reported-properties patch and returns the
// new reported $version. On any error the twin is unchanged.
func (s *Store) PatchReported(deviceID string, patch []byte) (version int, err error) {
	p, err := decodePatch(sectionReported, patch)
	if err != nil {
		return 0, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	d, ok := s.docs[deviceID]
	if !ok {
		return 0, notFound(deviceID)
	}
	if err := d.reported.apply(sectionReported, p, s.clock.Now()); err != nil {
		return 0, err
	}
	s.touchLocked(d)
	return d.reported.version, nil
}

// PatchDesired merges a desired-properties patch (from the service side) and
// returns the new desired $version and the notification body for the
// device: the applied patch plus "$version". On any error the twin is
// unchanged.
func (s *Store) PatchDesired(deviceID string, patch []byte) (version int, notification []byte, err error) {
	p, err := decodePatch(sectionDesired, patch)
	if err != nil {
		return 0, nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	d, ok := s.docs[deviceID]
	if !ok {
		return 0, nil, notFound(deviceID)
	}
	notification, err = encodeWithVersion(p, d.desired.version+1)
	if err != nil {
		return 0, nil, err
	}
	if err := d.desired.apply(sectionDesired, p, s.clock.Now()); err != nil {
		return 0, nil, err
	}
	s.touchLocked(d)
	return d.desired.version, notification, nil
}

// PatchTags merges a tags patch (service side). Tags have an 8 KB limit and
// no $version of their own; the twin version and etag change.
func (s *Store) PatchTags(deviceID string, patch []byte) error {
	p, err := decodePatch(sectionTags, patch)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	d, ok := s.docs[deviceID]
	if !ok {
		return notFound(deviceID)
	}
	if n := mergedSize(d.tags, p); n > MaxTagsSize {
		return tooLarge(sectionTags, n, MaxTagsSize)
	}
	merge(d.tags, nil, p, stamp{})
	s.touchLocked(d)
	return nil
}

// apply checks the size the section would have, then merges p and bumps
// $version. p must have passed decodePatch.
func (sec *section) apply(name string, p map[string]any, now time.Time) error {
	if n := mergedSize(sec.props, p); n > MaxSectionSize {
		return tooLarge(name, n, MaxSectionSize)
	}
	sec.version++
	merge(sec.props, sec.meta, p, stamp{now: now, version: sec.stampVersion(sec.version)})
	return nil
}

func tooLarge(name string, n, limit int) error {
	return invalid("%s properties would be %d bytes, more than the %d-byte limit", name, n, limit)
}

// touchLocked records an accepted update of d.
func (s *Store) touchLocked(d *twinDoc) {
	d.version++
	d.etag = s.nextETagLocked()
}

// Get returns a copy of a device's twin (the service view).
func (s *Store) Get(deviceID string) (Twin, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	d, ok := s.docs[deviceID]
	if !ok {
		return Twin{}, notFound(deviceID)
	}
	return Twin{
		DeviceID: deviceID,
		ETag:     d.etag,
		Version:  d.version,
		Tags:     copyObject(d.tags),
		Desired:  d.desired.export(),
		Reported: d.reported.export(),
	}, nil
}

func (sec *section) export() Section {
	return Section{Props: copyObject(sec.props), Version: sec.version, Metadata: sec.meta.toMap()}
}
