package hostlink

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"strings"
	"time"

	"github.com/cloudpillar/cloudpillar/agent/device"
)

// API paths.
const (
	PathCaseStart = "/v1/case/start"
	PathCaseStop  = "/v1/case/stop"
	PathHeartbeat = "/v1/heartbeat"
	PathStatus    = "/v1/status"
)

// Status is the body of GET /v1/status and of the answers to case start
// and stop.
type Status struct {
	CaseState          string     `json:"caseState"` // idle, live or unknown
	Since              time.Time  `json:"since"`
	LastHeartbeat      *time.Time `json:"lastHeartbeat"` // null before the first heartbeat
	LinkTimeoutSeconds float64    `json:"linkTimeoutSeconds"`
}

// errorBody is the JSON body of every 4xx answer.
type errorBody struct {
	Error string `json:"error"`
}

// route is one endpoint: the method it accepts and its handler.
type route struct {
	method string
	serve  http.HandlerFunc
}

// handler authenticates every request, then routes it.
func (l *Link) handler() http.Handler {
	routes := map[string]route{
		PathCaseStart: {http.MethodPost, l.serveCaseStart},
		PathCaseStop:  {http.MethodPost, l.serveCaseStop},
		PathHeartbeat: {http.MethodPost, l.serveHeartbeat},
		PathStatus:    {http.MethodGet, l.serveStatus},
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !l.authorized(r) {
			l.log.Warn("host link request refused: bad or missing bearer token", "method", r.Method, "path", r.URL.Path)
			w.Header().Set("WWW-Authenticate", `Bearer realm="hostlink"`)
			writeError(w, http.StatusUnauthorized, "missing or invalid bearer token")
			return
		}
		rt, ok := routes[r.URL.Path]
		if !ok {
			writeError(w, http.StatusNotFound, "no endpoint "+r.URL.Path)
			return
		}
		if r.Method != rt.method {
			w.Header().Set("Allow", rt.method)
			writeError(w, http.StatusMethodNotAllowed, r.URL.Path+" accepts "+rt.method+" only")
			return
		}
		rt.serve(w, r)
	})
}

// authorized compares the bearer token in constant time (over SHA-256
// digests, so the token's length does not leak either).
func (l *Link) authorized(r *http.Request) bool {
	scheme, tok, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return false
	}
	got := sha256.Sum256([]byte(strings.TrimSpace(tok)))
	return subtle.ConstantTimeCompare(got[:], l.token[:]) == 1
}

type caseStartRequest struct {
	CaseID string `json:"caseId"`
}

type caseStopRequest struct {
	CaseID string `json:"caseId"` // optional; only its hash is logged
}

func (l *Link) serveCaseStart(w http.ResponseWriter, r *http.Request) {
	var req caseStartRequest
	err := decodeBody(w, r, &req, false)
	if err == nil && req.CaseID == "" {
		err = errBody("caseId: required, a non-empty string")
	}
	if err != nil {
		l.rejectCase(w, r, err)
		return
	}
	l.setCase(w, device.CaseLive, req.CaseID)
}

func (l *Link) serveCaseStop(w http.ResponseWriter, r *http.Request) {
	var req caseStopRequest
	if err := decodeBody(w, r, &req, true); err != nil {
		l.rejectCase(w, r, err)
		return
	}
	l.setCase(w, device.CaseIdle, req.CaseID)
}

// setCase applies an accepted start or stop and answers with the status.
func (l *Link) setCase(w http.ResponseWriter, cs device.CaseState, caseID string) {
	now := l.cfg.Clock.Now()
	l.mu.Lock()
	changed := l.st.setCase(now, cs)
	st := l.statusLocked(now)
	l.mu.Unlock()
	l.log.Info("host case "+cs.String(), "caseRef", l.caseRef(caseID), "changed", changed)
	writeJSON(w, http.StatusOK, st)
}

// rejectCase answers a malformed case request with 400 and sets the case
// state to Unknown: the host meant to change it and we cannot tell how.
func (l *Link) rejectCase(w http.ResponseWriter, r *http.Request, err error) {
	now := l.cfg.Clock.Now()
	l.mu.Lock()
	l.st.reject(now)
	l.mu.Unlock()
	l.log.Warn("host case request rejected; case state unknown", "path", r.URL.Path, "err", err)
	writeBodyError(w, err)
}

type heartbeatRequest struct {
	Status  string                     `json:"status"`
	Metrics map[string]json.RawMessage `json:"metrics"`
}

func (l *Link) serveHeartbeat(w http.ResponseWriter, r *http.Request) {
	var req heartbeatRequest
	if err := decodeBody(w, r, &req, false); err != nil {
		writeBodyError(w, err)
		return
	}
	if err := checkStatus(req.Status); err != nil {
		writeBodyError(w, err)
		return
	}
	metrics, err := parseMetrics(req.Metrics)
	if err != nil {
		writeBodyError(w, err)
		return
	}
	now := l.cfg.Clock.Now()
	l.mu.Lock()
	prev := l.st.status
	l.st.heartbeat(now, req.Status, metrics)
	l.mu.Unlock()
	if prev != req.Status {
		l.log.Info("host status", "status", req.Status, "previous", prev)
	}
	w.WriteHeader(http.StatusNoContent)
}

func (l *Link) serveStatus(w http.ResponseWriter, r *http.Request) {
	now := l.cfg.Clock.Now()
	l.mu.Lock()
	st := l.statusLocked(now)
	l.mu.Unlock()
	writeJSON(w, http.StatusOK, st)
}

// statusLocked builds the status document; l.mu must be held.
func (l *Link) statusLocked(now time.Time) Status {
	st := Status{
		CaseState:          l.st.caseState(now).String(),
		Since:              l.st.sinceAt(now).UTC(),
		LinkTimeoutSeconds: l.cfg.LinkTimeout.Seconds(),
	}
	if !l.st.beat.IsZero() {
		t := l.st.beat.UTC()
		st.LastHeartbeat = &t
	}
	return st
}

// caseRef is a short keyed hash of a case id for logs: the same id gives
// the same reference within this process, and the id cannot be recovered
// from it. Empty ids give "".
func (l *Link) caseRef(caseID string) string {
	if caseID == "" {
		return ""
	}
	mac := hmac.New(sha256.New, l.caseKey)
	mac.Write([]byte(caseID))
	return hex.EncodeToString(mac.Sum(nil)[:8])
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(v) // the client's problem if it went away
}

func writeError(w http.ResponseWriter, code int, msg string) {
	writeJSON(w, code, errorBody{Error: msg})
}
