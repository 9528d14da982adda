package service

import (
	"errors"
	"net/http"

	"github.com/cloudpillar/cloudpillar/hubsim/blob"
)

// startUpload answers POST /devices/{id}/files (PROTOCOL.md §3): body
// {"blobName":".."}, answer the SAS URI parts for `{deviceId}/{blobName}`.
func (h *Handler) startUpload(w http.ResponseWriter, r *http.Request) *Error {
	if h.cfg.Files == nil {
		return errNotImplemented("file upload")
	}
	var body struct {
		BlobName string `json:"blobName"`
	}
	if e := decodeBody(r, &body); e != nil {
		return e
	}
	up, err := h.cfg.Files.Start(r.PathValue("id"), body.BlobName, h.cfg.Now())
	switch {
	case errors.Is(err, blob.ErrTooManyUploads):
		return &Error{http.StatusForbidden, "DeviceMaximumActiveFileUploadLimitExceeded", 403006,
			"Number of active file upload requests cannot exceed 10"}
	case errors.Is(err, blob.ErrBadBlobName):
		return errInvalid("blobName %q is not a valid blob name", clip(body.BlobName))
	case err != nil:
		return asError(err)
	}
	writeJSON(w, http.StatusOK, up)
	return nil
}

// completeUpload answers POST /devices/{id}/files/notifications (body with
// correlationId) and .../notifications/{correlationId} (body without): 204.
func (h *Handler) completeUpload(w http.ResponseWriter, r *http.Request) *Error {
	if h.cfg.Files == nil {
		return errNotImplemented("file upload")
	}
	var body struct {
		CorrelationID string `json:"correlationId"`
		blob.Completion
	}
	if e := decodeBody(r, &body); e != nil {
		return e
	}
	cid := r.PathValue("cid")
	if cid == "" {
		cid = body.CorrelationID
	}
	if cid == "" {
		return errInvalid("correlationId is required")
	}
	if err := h.cfg.Files.Complete(r.PathValue("id"), cid, body.Completion, h.cfg.Now()); err != nil {
		return &Error{http.StatusBadRequest, "InvalidFileUploadCorrelationId", 400015,
			"Cannot find a file upload with this correlation id for the device"}
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
