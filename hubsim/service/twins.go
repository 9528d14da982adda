package service

import (
	"bytes"
	"encoding/json"
	"net/http"

	"github.com/cloudpillar/cloudpillar/hubsim/registry"
	"github.com/cloudpillar/cloudpillar/hubsim/twinstore"
)

// twinDocument is a device's full twin as the service sees it
// (PROTOCOL.md §2.4): the twin store's document plus the registry's
// fields. It is also what queries run over. Numbers are json.Number.
func twinDocument(d registry.Device, tw twinstore.Twin, iotEdge bool) (map[string]any, error) {
	raw, err := json.Marshal(tw)
	if err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var doc map[string]any
	if err := dec.Decode(&doc); err != nil {
		return nil, err
	}
	doc["deviceEtag"] = d.ETag
	doc["status"] = string(d.Status)
	doc["statusUpdateTime"] = wireTime(d.StatusUpdatedTime)
	doc["connectionState"] = connectionState(d)
	doc["lastActivityTime"] = wireTime(d.ConnectionStateUpdatedTime)
	doc["cloudToDeviceMessageCount"] = json.Number("0")
	doc["authenticationType"] = string(d.Auth)
	doc["x509Thumbprint"] = map[string]any{
		"primaryThumbprint": nilIfEmpty(d.Thumbprint.PrimaryThumbprint), "secondaryThumbprint": nilIfEmpty(d.Thumbprint.SecondaryThumbprint),
	}
	doc["modelId"] = ""
	doc["capabilities"] = map[string]any{"iotEdge": iotEdge}
	if d.StatusReason != "" {
		doc["statusReason"] = d.StatusReason
	}
	return doc, nil
}

func nilIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// document returns the full twin of device id.
func (h *Handler) document(id string) (map[string]any, *Error) {
	d, err := h.cfg.Registry.Get(id)
	if err != nil {
		return nil, errDeviceNotFound(id)
	}
	tw, err := h.cfg.Twins.Get(id)
	if err != nil {
		return nil, errDeviceNotFound(id)
	}
	doc, err := twinDocument(d, tw, h.iotEdge(id))
	if err != nil {
		return nil, asError(err)
	}
	return doc, nil
}

func (h *Handler) getTwin(w http.ResponseWriter, r *http.Request) *Error {
	doc, e := h.document(r.PathValue("id"))
	if e != nil {
		return e
	}
	writeJSON(w, http.StatusOK, doc)
	return nil
}

// patchTwin merges tags and desired properties (null deletes).
func (h *Handler) patchTwin(w http.ResponseWriter, r *http.Request) *Error {
	return h.updateTwin(w, r, false)
}

// putTwin replaces tags and desired properties.
func (h *Handler) putTwin(w http.ResponseWriter, r *http.Request) *Error {
	return h.updateTwin(w, r, true)
}

// twinBody is what the service may change in a twin; every other member
// of the body (reported properties, etag, version, status...) is read-only
// and ignored, so a twin read and sent back is accepted.
type twinBody struct {
	Tags       json.RawMessage `json:"tags"`
	Properties struct {
		Desired json.RawMessage `json:"desired"`
	} `json:"properties"`
}

func (h *Handler) updateTwin(w http.ResponseWriter, r *http.Request, replace bool) *Error {
	id := r.PathValue("id")
	if _, err := h.cfg.Registry.Get(id); err != nil {
		return errDeviceNotFound(id)
	}
	var body twinBody
	if e := decodeBody(r, &body); e != nil {
		return e
	}
	desired, e := stripReadOnly(body.Properties.Desired)
	if e != nil {
		return e
	}
	ch, err := h.cfg.Twins.Update(id, twinstore.Update{
		IfMatch: r.Header.Get("If-Match"), Tags: present(body.Tags), Desired: desired, Replace: replace,
	})
	if err != nil {
		return asError(err)
	}
	if ch.Notification != nil && h.cfg.NotifyDesired != nil {
		h.cfg.NotifyDesired(id, ch.DesiredVersion, ch.Notification)
	}
	doc, e := h.document(id)
	if e != nil {
		return e
	}
	writeJSON(w, http.StatusOK, doc)
	return nil
}

// present is nil for an absent or null member.
func present(raw json.RawMessage) []byte {
	if len(raw) == 0 || string(raw) == "null" {
		return nil
	}
	return raw
}

// stripReadOnly drops "$metadata" and "$version" from a desired section
// sent back as read, which the store would refuse as keys.
func stripReadOnly(raw json.RawMessage) ([]byte, *Error) {
	raw = present(raw)
	if raw == nil || !bytes.Contains(raw, []byte(`"$`)) {
		return raw, nil
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		return raw, nil // not an object: let the store explain
	}
	delete(m, "$metadata")
	delete(m, "$version")
	out, err := json.Marshal(m)
	if err != nil {
		return nil, errFormat(err)
	}
	return out, nil
}
