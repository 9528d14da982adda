package dps

import (
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/cloudpillar/cloudpillar/hubsim/sas"
)

// OwnerPolicy is the DPS shared access policy the service API accepts.
const OwnerPolicy = "provisioningserviceowner"

// maxServiceBody bounds an enrollment document.
const maxServiceBody = 64 << 10

// ServiceConnectionString is the owner connection string of the service
// API (HostName is the DPS host name).
func (s *Server) ServiceConnectionString() string {
	return fmt.Sprintf("HostName=%s;SharedAccessKeyName=%s;SharedAccessKey=%s", s.cfg.HostName, OwnerPolicy, s.cfg.ServiceKey)
}

// ServiceHandler is the DPS service REST API: PUT, GET and DELETE of
// /enrollments/{registrationId} and /enrollmentGroups/{groupId}, with an
// api-version query parameter and a provisioningserviceowner SAS token.
func (s *Server) ServiceHandler() http.Handler {
	mux := http.NewServeMux()
	for _, kind := range []struct {
		path  string
		group bool
	}{{"/enrollments/{id}", false}, {"/enrollmentGroups/{id}", true}} {
		mux.HandleFunc("PUT "+kind.path, s.servicePut(kind.group))
		mux.HandleFunc("GET "+kind.path, s.serviceGet(kind.group))
		mux.HandleFunc("DELETE "+kind.path, s.serviceDelete(kind.group))
	}
	return s.serviceAuth(mux)
}

func (s *Server) serviceAuth(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("api-version") == "" {
			s.serviceError(w, badRequest("api-version is required"))
			return
		}
		if err := s.authorize(r.Header.Get("Authorization")); err != nil {
			s.serviceError(w, &Error{Status: 401, Code: CodeUnauthorized, Message: err.Error()})
			return
		}
		next.ServeHTTP(w, r)
	})
}

// authorize checks an owner token for this DPS's host name.
func (s *Server) authorize(header string) error {
	tok, err := sas.Parse(header)
	switch {
	case err != nil:
		return err
	case tok.KeyName != OwnerPolicy:
		return fmt.Errorf("policy %q may not manage enrollments", tok.KeyName)
	case tok.Expired(s.cfg.Now()):
		return sas.ErrExpired
	case !strings.EqualFold(strings.TrimSuffix(tok.ResourceURI(), "/"), s.cfg.HostName):
		return sas.ErrResource
	}
	return tok.Verify(s.cfg.ServiceKey)
}

func (s *Server) servicePut(group bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		id := r.PathValue("id")
		var doc enrollmentDoc
		dec := json.NewDecoder(io.LimitReader(r.Body, maxServiceBody))
		if err := dec.Decode(&doc); err != nil {
			s.serviceError(w, badRequest("malformed enrollment"))
			return
		}
		if bodyID := doc.RegistrationID + doc.EnrollmentGroupID; bodyID != "" && !strings.EqualFold(bodyID, id) {
			s.serviceError(w, badRequest("enrollment id %q does not match the path %q", bodyID, id))
			return
		}
		e, err := doc.toEnrollment(id, group)
		if err == nil {
			err = s.enr.put(e, group)
		}
		if err != nil {
			s.serviceError(w, badRequest("%v", err))
			return
		}
		writeJSON(w, http.StatusOK, fromEnrollment(e, group))
	}
}

func (s *Server) serviceGet(group bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		e, ok := s.enr.get(group, r.PathValue("id"))
		if !ok {
			s.serviceError(w, &Error{Status: 404, Code: CodeNotFound, Message: "enrollment not found"})
			return
		}
		writeJSON(w, http.StatusOK, fromEnrollment(e, group))
	}
}

func (s *Server) serviceDelete(group bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if err := s.enr.delete(group, r.PathValue("id")); err != nil {
			s.serviceError(w, &Error{Status: 404, Code: CodeNotFound, Message: "enrollment not found"})
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}
}

func (s *Server) serviceError(w http.ResponseWriter, e *Error) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(e.Status)
	w.Write(e.body(s.cfg.Now(), newID()))
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	w.Write(asciiJSON(v))
}

// startHTTPS serves the service API when an HTTPS address or listener is
// configured.
func (s *Server) startHTTPS(cert tls.Certificate) error {
	raw := s.cfg.HTTPSListener
	if raw == nil && s.cfg.HTTPSAddr == "" {
		return nil
	}
	if raw == nil {
		var err error
		if raw, err = net.Listen("tcp", s.cfg.HTTPSAddr); err != nil {
			return fmt.Errorf("dps https listener: %w", err)
		}
	}
	s.httpsLn = tls.NewListener(raw, &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12})
	s.httpSrv = &http.Server{Handler: s.ServiceHandler(), ReadHeaderTimeout: 10 * time.Second}
	s.httpDone = make(chan struct{})
	go func() {
		defer close(s.httpDone)
		if err := s.httpSrv.Serve(s.httpsLn); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.cfg.Logger.Error("dps https server", "err", err)
		}
	}()
	return nil
}

// HTTPSAddr is the host:port of the service API, "" when not served.
func (s *Server) HTTPSAddr() string {
	if s.httpsLn == nil {
		return ""
	}
	return s.httpsLn.Addr().String()
}
