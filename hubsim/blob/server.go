package blob

import (
	"encoding/base64"
	"errors"
	"log/slog"
	"net/http"
	"time"
)

// DefaultAccount is the storage account name in canonical resources.
const DefaultAccount = "hubsim"

// Server is an Azure-Blob-compatible endpoint over a Store: Put Blob, Put
// Block, Put Block List, Get Blob, Get Blob Properties and Get Block List,
// each authorized by a service SAS this server issued (SAS).
type Server struct {
	store   *Store
	key     []byte
	account string
	now     func() time.Time
	log     *slog.Logger
}

// NewServer serves store. A nil now is time.Now; a nil logger discards.
// SAS tokens are signed with the store's account key, which survives a
// restart on the same directory.
func NewServer(store *Store, now func() time.Time, log *slog.Logger) *Server {
	if now == nil {
		now = time.Now
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Server{store: store, key: store.AccountKey(), account: DefaultAccount, now: now, log: log}
}

// Store is the server's blob store.
func (s *Server) Store() *Store { return s.store }

// SAS returns a SAS query string (no '?') for one blob with perms until
// expiry.
func (s *Server) SAS(container, name, perms string, expiry time.Time) string {
	return signSAS(s.key, s.account, container, name, perms, expiry)
}

// ServeHTTP handles one Blob service request.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	reqID := newRequestID()
	now := s.now()
	h := w.Header()
	h.Set("x-ms-request-id", reqID)
	h.Set("x-ms-version", version(r))
	h.Set("Server", "Windows-Azure-Blob/1.0 Microsoft-HTTPAPI/2.0")
	if err := s.serve(w, r, now); err != nil {
		var e *Error
		if !errors.As(err, &e) {
			s.log.Warn("blob request failed", "method", r.Method, "err", err)
			e = &Error{Status: 500, Code: "InternalError", Message: "The server encountered an internal error."}
		}
		writeError(w, e, reqID, now)
	}
}

// version echoes the client's x-ms-version, else the SAS version.
func version(r *http.Request) string {
	if v := r.Header.Get("x-ms-version"); v != "" {
		return v
	}
	return SASVersion
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request, now time.Time) error {
	req, err := ParseRequest(r.Method, r.URL.EscapedPath(), r.URL.RawQuery)
	if err != nil {
		return err
	}
	need := byte('w')
	if req.Op == OpGetBlob || req.Op == OpGetBlobProperties || req.Op == OpGetBlockList {
		need = 'r'
	}
	if e := checkSAS(s.key, s.account, req, need, now); e != nil {
		return e
	}
	switch req.Op {
	case OpPutBlob:
		return s.putBlob(w, r, req, now)
	case OpPutBlock:
		return s.putBlock(w, r, req)
	case OpPutBlockList:
		return s.putBlockList(w, r, req, now)
	case OpGetBlockList:
		return s.getBlockList(w, req)
	}
	return s.getBlob(w, r, req)
}

func (s *Server) putBlob(w http.ResponseWriter, r *http.Request, req Request, now time.Time) error {
	switch bt := r.Header.Get("x-ms-blob-type"); bt {
	case "BlockBlob":
	case "":
		return &Error{Status: 400, Code: "MissingRequiredHeader", Message: "An HTTP header that's mandatory for this request is not specified (x-ms-blob-type)."}
	default:
		return &Error{Status: 400, Code: "InvalidHeaderValue", Message: "hubsim stores block blobs only, not " + clip(bt) + "."}
	}
	meta, want, err := putBlobHeaders(r, s.store.cfg.putBlobLimit())
	if err != nil {
		return err
	}
	p, err := s.store.Put(req.Container, req.Blob, r.Body, Attrs{ContentType: contentType(r), Metadata: meta}, want, now)
	if err != nil {
		return err
	}
	w.Header().Set("Content-MD5", base64.StdEncoding.EncodeToString(p.ContentMD5))
	created(w, p)
	return nil
}

// putBlobHeaders reads what a Put Blob carries besides its body: metadata
// and the body's checksums; a Content-Length over limit is refused before
// the body is read.
func putBlobHeaders(r *http.Request, limit int64) (map[string]string, Digests, error) {
	if r.ContentLength > limit {
		return nil, Digests{}, ErrTooLarge
	}
	meta, err := ParseMetadata(r.Header)
	if err != nil {
		return nil, Digests{}, err
	}
	want, err := bodyDigests(r.Header)
	return meta, want, err
}

func (s *Server) putBlock(w http.ResponseWriter, r *http.Request, req Request) error {
	if r.ContentLength > s.store.cfg.blockLimit() {
		return ErrTooLarge
	}
	want, err := bodyDigests(r.Header)
	if err != nil {
		return err
	}
	got, err := s.store.PutBlock(req.Container, req.Blob, req.BlockID, r.Body, want)
	if err != nil {
		return err
	}
	h := w.Header()
	h.Set("Content-MD5", base64.StdEncoding.EncodeToString(got.MD5))
	if got.CRC64 != nil {
		h.Set("x-ms-content-crc64", base64.StdEncoding.EncodeToString(got.CRC64))
	}
	h.Set("x-ms-request-server-encrypted", "true")
	w.WriteHeader(http.StatusCreated)
	return nil
}

// contentType is the blob's content type from x-ms-blob-content-type or,
// for Put Blob, Content-Type.
func contentType(r *http.Request) string {
	if ct := r.Header.Get("x-ms-blob-content-type"); ct != "" {
		return ct
	}
	return r.Header.Get("Content-Type")
}

// created answers 201 with the blob's ETag and Last-Modified.
func created(w http.ResponseWriter, p Props) {
	h := w.Header()
	h.Set("ETag", p.ETag)
	h.Set("Last-Modified", p.Modified.Format(http.TimeFormat))
	h.Set("x-ms-request-server-encrypted", "true")
	w.WriteHeader(http.StatusCreated)
}

// getBlob serves Get Blob and Get Blob Properties (HEAD), with the blob's
// metadata as x-ms-meta-* headers, ranges (Range or x-ms-range) and
// conditional headers through http.ServeContent.
func (s *Server) getBlob(w http.ResponseWriter, r *http.Request, req Request) error {
	f, p, err := s.store.Open(req.Container, req.Blob)
	if err != nil {
		return err
	}
	defer f.Close()
	h := w.Header()
	h.Set("x-ms-blob-type", "BlockBlob")
	h.Set("x-ms-creation-time", p.Created.Format(http.TimeFormat))
	h.Set("x-ms-lease-state", "available")
	h.Set("x-ms-lease-status", "unlocked")
	h.Set("x-ms-server-encrypted", "true")
	h.Set("Accept-Ranges", "bytes")
	h.Set("ETag", p.ETag)
	ct := p.ContentType
	if ct == "" {
		ct = "application/octet-stream"
	}
	h.Set("Content-Type", ct)
	if len(p.ContentMD5) > 0 {
		h.Set("Content-MD5", base64.StdEncoding.EncodeToString(p.ContentMD5))
	}
	writeMetadata(h, p.Metadata)
	if xr := r.Header.Get("x-ms-range"); xr != "" {
		r.Header.Set("Range", xr)
	}
	http.ServeContent(w, r, "", p.Modified, f)
	return nil
}
