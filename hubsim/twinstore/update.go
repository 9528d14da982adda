package twinstore

import (
	"fmt"
	"strings"
)

// ErrPreconditionFailed: an If-Match etag that is not the twin's current
// one (412 412001 PreconditionFailed).
var ErrPreconditionFailed = &Error{Status: 412, Code: 412001, Message: "PreconditionFailed: etag does not match the twin"}

// Update is a service-side change of a twin (PATCH or PUT /twins/{id},
// PROTOCOL.md §4), applied in one step: at most one new twin version and
// etag, and nothing changed when any part is rejected.
type Update struct {
	// IfMatch is the etag the caller last saw, quoted or not; "" or "*"
	// matches any.
	IfMatch string
	// Tags and Desired are JSON objects. Merged like a patch (null
	// deletes), or with Replace they become the new content. Nil leaves a
	// section alone when merging, and empties it when replacing.
	Tags, Desired []byte
	// Replace makes Tags and Desired replace the sections (PUT /twins).
	Replace bool
}

// Change is what Update did.
type Change struct {
	Twin Twin // the twin afterwards
	// DesiredVersion and Notification are set when desired properties
	// changed: the new desired $version, and the body to send the device
	// (the patch applied, or the whole desired section after a replace,
	// with "$version").
	DesiredVersion int
	Notification   []byte
}

// Update applies u to a device's twin.
func (s *Store) Update(deviceID string, u Update) (Change, error) {
	tags, desired, err := u.decode()
	if err != nil {
		return Change{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	d, ok := s.docs[deviceID]
	if !ok {
		return Change{}, notFound(deviceID)
	}
	if !etagMatches(d.etag, u.IfMatch) {
		return Change{}, fmt.Errorf("twin %q: %w", deviceID, ErrPreconditionFailed)
	}
	if err := u.checkSizes(d, tags, desired); err != nil {
		return Change{}, err
	}
	var ch Change
	if tags != nil {
		if u.Replace {
			d.tags = map[string]any{}
		}
		merge(d.tags, nil, tags, stamp{})
	}
	if desired != nil {
		if ch.Notification, err = s.updateDesiredLocked(d, desired, u.Replace); err != nil {
			return Change{}, err
		}
		ch.DesiredVersion = d.desired.version
	}
	s.touchLocked(d)
	ch.Twin = Twin{
		DeviceID: deviceID, ETag: d.etag, Version: d.version, Tags: copyObject(d.tags),
		Desired: d.desired.export(), Reported: d.reported.export(),
	}
	return ch, nil
}

// decode validates the sections u carries; with Replace a missing section
// is an empty object.
func (u Update) decode() (tags, desired map[string]any, err error) {
	if u.Tags != nil {
		if tags, err = decodePatch(sectionTags, u.Tags); err != nil {
			return nil, nil, err
		}
	}
	if u.Desired != nil {
		if desired, err = decodePatch(sectionDesired, u.Desired); err != nil {
			return nil, nil, err
		}
	}
	if u.Replace {
		if tags == nil {
			tags = map[string]any{}
		}
		if desired == nil {
			desired = map[string]any{}
		}
	}
	return tags, desired, nil
}

// checkSizes rejects an update that would take a section over its limit.
func (u Update) checkSizes(d *twinDoc, tags, desired map[string]any) error {
	oldTags, oldDesired := d.tags, d.desired.props
	if u.Replace {
		oldTags, oldDesired = nil, nil
	}
	if n := mergedSize(oldTags, tags); tags != nil && n > MaxTagsSize {
		return tooLarge(sectionTags, n, MaxTagsSize)
	}
	if n := mergedSize(oldDesired, desired); desired != nil && n > MaxSectionSize {
		return tooLarge(sectionDesired, n, MaxSectionSize)
	}
	return nil
}

// updateDesiredLocked merges (or replaces with) p in d's desired section,
// bumps $version and returns the device notification.
func (s *Store) updateDesiredLocked(d *twinDoc, p map[string]any, replace bool) ([]byte, error) {
	v := d.desired.version + 1
	note, err := encodeWithVersion(p, v)
	if err != nil {
		return nil, err
	}
	now := s.clock.Now()
	if replace {
		d.desired.props = map[string]any{}
		d.desired.meta = &metaNode{}
	}
	d.desired.version = v
	merge(d.desired.props, d.desired.meta, p, stamp{now: now, version: d.desired.stampVersion(v)})
	if replace {
		// A replacement can hold nulls, which merge dropped: the device
		// gets the section as it now is.
		return encodeWithVersion(d.desired.props, v)
	}
	return note, nil
}

// etagMatches implements If-Match: "" and "*" match anything; otherwise
// the (optionally quoted, optionally weak) etag must be the current one.
func etagMatches(current, ifMatch string) bool {
	ifMatch = strings.TrimSpace(ifMatch)
	if ifMatch == "" || ifMatch == "*" {
		return true
	}
	ifMatch = strings.TrimPrefix(ifMatch, "W/")
	return strings.Trim(ifMatch, `"`) == current
}
