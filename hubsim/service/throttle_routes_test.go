package service

import (
	"net/http/httptest"
	"strings"
	"testing"
)

// TestThrottledRoutesExist: every operation restOps throttles is a route
// of the API, so a renamed route cannot silently escape throttling.
func TestThrottledRoutesExist(t *testing.T) {
	h := New(Config{})
	for pattern := range restOps {
		method, path, _ := strings.Cut(pattern, " ")
		path = strings.NewReplacer("{id}", "d1", "{cid}", "c1").Replace(path)
		if _, got := h.mux.Handler(httptest.NewRequest(method, path, nil)); got != pattern {
			t.Errorf("throttled operation %q is routed to %q", pattern, got)
		}
	}
}
