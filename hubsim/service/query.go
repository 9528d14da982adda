package service

import (
	"encoding/base64"
	"net/http"
	"strconv"
	"strings"

	"github.com/cloudpillar/cloudpillar/hubsim/query"
)

// Query paging (PROTOCOL.md §4, "Query").
const (
	DefaultPageSize = 100  // rows per page without x-ms-max-item-count
	MaxPageSize     = 1000 // larger x-ms-max-item-count values are capped
)

// query runs POST /devices/query: body {"query":"SELECT ..."}; the page
// size comes from x-ms-max-item-count, the position from x-ms-continuation,
// which the response carries while more rows remain.
func (h *Handler) query(w http.ResponseWriter, r *http.Request) *Error {
	var body struct {
		Query string `json:"query"`
	}
	if e := decodeBody(r, &body); e != nil {
		return e
	}
	if strings.TrimSpace(body.Query) == "" {
		return errInvalid("the query is empty")
	}
	q, err := query.Parse(body.Query)
	if err != nil {
		return errInvalid("%s", err.Error())
	}
	size, e := pageSize(r.Header.Get("x-ms-max-item-count"))
	if e != nil {
		return e
	}
	offset, e := parseContinuation(r.Header.Get("x-ms-continuation"))
	if e != nil {
		return e
	}
	rows := q.Run(h.documents())
	if offset > len(rows) {
		offset = len(rows)
	}
	page := rows[offset:min(offset+size, len(rows))]
	if next := offset + len(page); next < len(rows) {
		w.Header().Set("x-ms-continuation", formatContinuation(next))
	}
	itemType := "raw"
	if q.Star {
		itemType = "twin"
	}
	w.Header().Set("x-ms-item-type", itemType)
	if page == nil {
		page = []map[string]any{}
	}
	writeJSON(w, http.StatusOK, page)
	return nil
}

// documents returns the twin documents of all devices (not modules), in
// device ID order. Devices that vanish meanwhile are skipped.
func (h *Handler) documents() []map[string]any {
	devs := h.cfg.Registry.List()
	docs := make([]map[string]any, 0, len(devs))
	for _, d := range devs {
		if strings.Contains(d.ID, "/") {
			continue
		}
		tw, err := h.cfg.Twins.Get(d.ID)
		if err != nil {
			continue
		}
		if doc, err := twinDocument(d, tw, h.iotEdge(d.ID)); err == nil {
			docs = append(docs, doc)
		}
	}
	return docs
}

func pageSize(v string) (int, *Error) {
	if v == "" {
		return DefaultPageSize, nil
	}
	n, err := strconv.Atoi(strings.TrimSpace(v))
	if err != nil || n < 1 {
		return 0, errInvalid("x-ms-max-item-count %q is not a positive number", clip(v))
	}
	return min(n, MaxPageSize), nil
}

// Continuation tokens are opaque to clients: base64 of "offset:{n}".
func formatContinuation(offset int) string {
	return base64.RawURLEncoding.EncodeToString([]byte("offset:" + strconv.Itoa(offset)))
}

func parseContinuation(v string) (int, *Error) {
	if v == "" {
		return 0, nil
	}
	raw, err := base64.RawURLEncoding.DecodeString(v)
	n, ok := strings.CutPrefix(string(raw), "offset:")
	off, convErr := strconv.Atoi(n)
	if err != nil || !ok || convErr != nil || off < 0 {
		return 0, errInvalid("x-ms-continuation is not a token this hub issued")
	}
	return off, nil
}
