package service

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
)

// maxUpdateName bounds a published update file's name: Azure's limit on a
// blob name.
const maxUpdateName = 1024

// publishJSON is the answer to POST /_sim/updates/{name}.
type publishJSON struct {
	UploadURL   string `json:"uploadUrl"`   // Put Block, Put Block List (and Get Blob), valid briefly
	DownloadURL string `json:"downloadUrl"` // Get Blob only, what a deployment's fileUrls carry
}

// simPublishURLs answers where to publish an update file: a blob in the
// hub's own store that devices download over the hub's HTTPS endpoint, as
// Azure Device Update serves files from its storage. The body, if any, is
// ignored; 200 {"uploadUrl","downloadUrl"}.
func (h *Handler) simPublishURLs(w http.ResponseWriter, r *http.Request) *Error {
	name := r.PathValue("name")
	if err := checkUpdateName(name); err != nil {
		return errInvalid("update file name %q: %s", clip(name), err)
	}
	if h.cfg.PublishURLs == nil {
		return errNotImplemented("publishing update files")
	}
	up, down, err := h.cfg.PublishURLs(name)
	if err != nil {
		h.cfg.Logger.Warn("publish URLs failed", "name", name, "err", err)
		return asError(err)
	}
	writeJSON(w, http.StatusOK, publishJSON{UploadURL: up, DownloadURL: down})
	return nil
}

// checkUpdateName accepts 1-1024 bytes of '/'-separated segments of ASCII
// letters, digits, '.', '_' and '-', with no empty, "." or ".." segment
// and, as Azure advises for blob names, no '.' at the end.
func checkUpdateName(name string) error {
	switch {
	case name == "":
		return errors.New("the name is empty")
	case len(name) > maxUpdateName:
		return fmt.Errorf("the name is %d bytes long; at most %d are allowed", len(name), maxUpdateName)
	case strings.HasSuffix(name, "."):
		return errors.New("the name must not end in '.'")
	}
	for _, seg := range strings.Split(name, "/") {
		if seg == "" || seg == "." || seg == ".." {
			return fmt.Errorf("path segment %q is not allowed", seg)
		}
		for _, c := range seg {
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-') {
				return fmt.Errorf("character %q is not allowed (ASCII letters, digits, '.', '_' and '-' only)", c)
			}
		}
	}
	return nil
}
