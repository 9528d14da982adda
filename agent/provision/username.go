package provision

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
)

// Username is the DPS CONNECT user name:
// `{idScope}/registrations/{registrationId}/api-version={v}[&ClientVersion={ua}]`,
// with no `?` before api-version (PROTOCOL.md §6).
func Username(idScope, registrationID, apiVersion, clientVersion string) string {
	u := idScope + "/registrations/" + registrationID + "/api-version=" + apiVersion
	if clientVersion != "" {
		u += "&ClientVersion=" + url.QueryEscape(clientVersion)
	}
	return u
}

// ParsedUsername is a DPS user name taken apart.
type ParsedUsername struct {
	IDScope        string
	RegistrationID string
	APIVersion     string
	ClientVersion  string
}

// ParseUsername reads a DPS user name. A `?` before api-version is
// tolerated; unknown query keys are ignored.
func ParseUsername(u string) (ParsedUsername, error) {
	scope, rest, ok1 := strings.Cut(u, "/registrations/")
	reg, query, ok2 := strings.Cut(rest, "/")
	if !ok1 || !ok2 || scope == "" || reg == "" || strings.Contains(scope, "/") {
		return ParsedUsername{}, fmt.Errorf("DPS user name %q: want {idScope}/registrations/{registrationId}/api-version=...", u)
	}
	q := parseQuery(query)
	p := ParsedUsername{IDScope: scope, RegistrationID: reg, APIVersion: q["api-version"], ClientVersion: q["ClientVersion"]}
	if p.APIVersion == "" {
		return p, errors.New("DPS user name has no api-version")
	}
	return p, nil
}
