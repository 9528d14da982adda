package updatesrv

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cloudpillar/cloudpillar/agent/update"
	"github.com/cloudpillar/cloudpillar/agent/update/updatetest"
)

// Fault makes the server misbehave for one file.
type Fault struct {
	// Status, if non-zero, is answered instead of the file (500, 404...).
	Status int
	// Truncate drops the connection after TruncateAfter body bytes of a
	// response that declared the full length.
	Truncate      bool
	TruncateAfter int64
	// BytesPerSecond, if positive, trickles the body at that rate.
	BytesPerSecond int
	// Corrupt serves the file with one byte flipped (same length).
	Corrupt bool
	// Endless serves the file and then junk without end, with no
	// Content-Length, until the client goes away.
	Endless bool
	// IgnoreRange answers a Range request with 200 and the whole file.
	IgnoreRange bool
	// Times is how many requests for the file the fault applies to before
	// the file is served normally; 0 means every request.
	Times int
}

// Request is one request the server answered.
type Request struct {
	File   string
	Range  string // the Range header, "" if none
	Status int    // the status sent (0 if the handler aborted before any)
	Sent   int64  // body bytes written
}

type faultState struct {
	Fault
	used int
}

// modTime is fixed so Last-Modified never changes between requests.
var modTime = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// endlessCap bounds an endless response, in case a client never stops.
const endlessCap = 1 << 30

// Server serves update payloads. See the package doc.
type Server struct {
	srv  *httptest.Server
	sent atomic.Int64

	mu     sync.Mutex
	files  map[string][]byte      // guarded by mu
	faults map[string]*faultState // guarded by mu
	log    []Request              // guarded by mu
}

// New starts a plain HTTP server on 127.0.0.1:0.
func New() *Server { return start(false) }

// NewTLS starts an HTTPS server on 127.0.0.1:0 with a generated
// certificate; Client trusts it.
func NewTLS() *Server { return start(true) }

func start(tls bool) *Server {
	s := &Server{files: map[string][]byte{}, faults: map[string]*faultState{}}
	if tls {
		s.srv = httptest.NewTLSServer(s)
	} else {
		s.srv = httptest.NewServer(s)
	}
	return s
}

// Close stops the server, dropping open connections, and waits for its
// handlers.
func (s *Server) Close() {
	s.srv.CloseClientConnections()
	s.srv.Close()
}

// URL is the base URL; a file is at URL()+"/"+name.
func (s *Server) URL() string { return s.srv.URL }

// Client is an HTTP client that trusts the server (and has no timeout).
func (s *Server) Client() *http.Client { return s.srv.Client() }

// Publish serves content under name and returns its manifest entry.
func (s *Server) Publish(name string, content []byte) update.FileEntry {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.files[name] = bytes.Clone(content)
	return updatetest.File(name, content)
}

// SetFault makes requests for name misbehave as f says.
func (s *Server) SetFault(name string, f Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults[name] = &faultState{Fault: f}
}

// ClearFaults serves every file normally again.
func (s *Server) ClearFaults() {
	s.mu.Lock()
	defer s.mu.Unlock()
	clear(s.faults)
}

// Requests returns the requests answered so far, oldest first.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.log...)
}

// BytesSent is the number of body bytes written over all requests,
// counted as they are written.
func (s *Server) BytesSent() int64 { return s.sent.Load() }

// Deploy signs m with sk and returns the service object that deploys it
// with file URLs on this server.
func (s *Server) Deploy(m update.Manifest, sk *updatetest.SigningKey, workflowID string) (update.ServiceUpdate, error) {
	return updatetest.Deployment(m, sk, workflowID, s.URL())
}

// lookup returns the file and the fault for this request, using up one of
// the fault's Times.
func (s *Server) lookup(name string) ([]byte, Fault, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	content, ok := s.files[name]
	fs := s.faults[name]
	if fs == nil || (fs.Times > 0 && fs.used >= fs.Times) {
		return content, Fault{}, ok
	}
	fs.used++
	return content, fs.Fault, ok
}

func (s *Server) record(r Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.log = append(s.log, r)
}

// ServeHTTP serves GET /<name>.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	name := strings.TrimPrefix(r.URL.Path, "/")
	req := Request{File: name, Range: r.Header.Get("Range")}
	cw := &countingWriter{ResponseWriter: w, ctx: r.Context().Done(), server: s, req: &req}
	defer func() { s.record(req) }()
	content, f, ok := s.lookup(name)
	if !ok || r.Method != http.MethodGet && r.Method != http.MethodHead {
		http.NotFound(cw, r)
		return
	}
	if f.Status != 0 {
		http.Error(cw, http.StatusText(f.Status), f.Status)
		return
	}
	if f.Corrupt {
		content = bytes.Clone(content)
		content[len(content)/2] ^= 0xff
	}
	cw.rate = f.BytesPerSecond
	if f.Truncate {
		cw.limit = f.TruncateAfter
	} else {
		cw.limit = -1
	}
	if f.Endless {
		serveEndless(cw, content)
		return
	}
	if f.IgnoreRange {
		r.Header.Del("Range")
		r.Header.Del("If-Range")
	}
	sum := sha256.Sum256(content)
	cw.Header().Set("ETag", `"`+hex.EncodeToString(sum[:8])+`"`)
	http.ServeContent(cw, r, name, modTime, bytes.NewReader(content))
}

// serveEndless writes content and then junk, chunked, until the client
// goes away or endlessCap.
func serveEndless(cw *countingWriter, content []byte) {
	cw.Header().Set("Content-Type", "application/octet-stream")
	cw.WriteHeader(http.StatusOK)
	if _, err := cw.Write(content); err != nil {
		return
	}
	junk := bytes.Repeat([]byte{'x'}, 32<<10)
	for cw.req.Sent < endlessCap {
		if _, err := cw.Write(junk); err != nil {
			return
		}
	}
}
