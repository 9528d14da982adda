package service

import (
	"fmt"
	"strings"
	"testing"
)

// TestQueryPaging: POST /devices/query pages by x-ms-max-item-count and
// hands back x-ms-continuation until the last page (PROTOCOL.md §4
// "Query").
func TestQueryPaging(t *testing.T) {
	th := newTestHub(t, Config{})
	for i := range 25 {
		id := fmt.Sprintf("dev-%02d", i)
		th.owner("PUT", "/devices/"+id, map[string]any{})
		region := "EU"
		if i%5 == 0 {
			region = "US"
		}
		th.owner("PATCH", "/twins/"+id, map[string]any{"tags": map[string]any{"region": region, "n": i}})
	}
	var ids []string
	cont, pages := "", 0
	for {
		hdr := []string{"x-ms-max-item-count", "10"}
		if cont != "" {
			hdr = append(hdr, "x-ms-continuation", cont)
		}
		r := th.do(th.client, "POST", "/devices/query", th.token("service"), map[string]string{"query": "SELECT * FROM devices WHERE tags.n >= 2"}, hdr...)
		var rows []map[string]any
		r.decode(t, &rows)
		if r.status != 200 || r.header.Get("x-ms-item-type") != "twin" || len(rows) > 10 {
			t.Fatalf("page %d = %d %s (%v)", pages, r.status, r.body, r.header)
		}
		for _, row := range rows {
			ids = append(ids, row["deviceId"].(string))
		}
		pages++
		if cont = r.header.Get("x-ms-continuation"); cont == "" {
			break
		}
	}
	if pages != 3 || len(ids) != 23 || ids[0] != "dev-02" || ids[22] != "dev-24" {
		t.Fatalf("%d pages, ids %v", pages, ids)
	}

	var agg []map[string]any
	r := th.owner("POST", "/devices/query", `{"Query":"SELECT tags.region AS region, COUNT() AS n FROM devices GROUP BY tags.region"}`)
	r.decode(t, &agg)
	if r.header.Get("x-ms-item-type") != "raw" || len(agg) != 2 || agg[0]["region"] != "US" || agg[0]["n"] != 5.0 || agg[1]["n"] != 20.0 {
		t.Fatalf("GROUP BY = %s", r.body)
	}
}

// TestQueryErrors: bad queries and paging headers are 400 with the
// parser's position.
func TestQueryErrors(t *testing.T) {
	th := newTestHub(t, Config{})
	tests := []struct {
		name, body string
		hdr        []string
		contains   string
	}{
		{"syntax", `{"query":"SELECT * FROM devices WHERE"}`, nil, "position 28: expected a condition"},
		{"empty", `{"query":""}`, nil, "empty"},
		{"page size", `{"query":"SELECT * FROM devices"}`, []string{"x-ms-max-item-count", "0"}, "x-ms-max-item-count"},
		{"continuation", `{"query":"SELECT * FROM devices"}`, []string{"x-ms-continuation", "bogus!"}, "x-ms-continuation"},
	}
	for _, tc := range tests {
		r := th.owner("POST", "/devices/query", tc.body, tc.hdr...)
		expectError(t, tc.name, r, 400, "ArgumentInvalid")
		if !strings.Contains(string(r.body), tc.contains) {
			t.Errorf("%s: %s lacks %q", tc.name, r.body, tc.contains)
		}
	}
	expectError(t, "bad JSON", th.owner("POST", "/devices/query", `{"query":`), 400, "IotHubFormatError")
}
