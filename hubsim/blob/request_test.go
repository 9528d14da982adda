package blob

import (
	"errors"
	"strings"
	"testing"
)

func TestParseRequest(t *testing.T) {
	tests := []struct {
		method, path, query string
		op                  Op
		container, blob     string
		code                string // Azure error code; "" = success
	}{
		{"PUT", "/fileupload/dev1/log.txt", "sv=x&sig=y", OpPutBlob, "fileupload", "dev1/log.txt", ""},
		{"PUT", "/fileupload/dev1%2Fa%20b.txt", "", OpPutBlob, "fileupload", "dev1/a b.txt", ""},
		{"PUT", "/fileupload/d/b", "comp=block&blockid=AAAA", OpPutBlock, "fileupload", "d/b", ""},
		{"PUT", "/fileupload/d/b", "comp=blocklist", OpPutBlockList, "fileupload", "d/b", ""},
		{"GET", "/fileupload/d/b", "", OpGetBlob, "fileupload", "d/b", ""},
		{"HEAD", "/fileupload/d/b", "", OpGetBlobProperties, "fileupload", "d/b", ""},
		{"GET", "/fileupload/d/b", "comp=blocklist&blocklisttype=ALL", OpGetBlockList, "fileupload", "d/b", ""},
		{"GET", "/fileupload/d/b", "comp=blocklist&blocklisttype=some", 0, "", "", "InvalidQueryParameterValue"},
		{"PUT", "/fileupload/d/b", "comp=block", 0, "", "", "InvalidQueryParameterValue"},
		{"PUT", "/fileupload/d/b", "comp=block&blockid=not*base64", 0, "", "", "InvalidQueryParameterValue"},
		{"PUT", "/fileupload/d/b", "comp=block&blockid=" + strings.Repeat("QUFB", 22), 0, "", "", "InvalidQueryParameterValue"},
		{"PUT", "/fileupload/d/b", "comp=metadata", 0, "", "", "InvalidQueryParameterValue"},
		{"PUT", "/fileupload/d/b", "sig=%zz", 0, "", "", "InvalidQueryParameterValue"},
		{"DELETE", "/fileupload/d/b", "", 0, "", "", "UnsupportedHttpVerb"},
		{"POST", "/fileupload/d/b", "", 0, "", "", "UnsupportedHttpVerb"},
		{"GET", "/Upper/d/b", "", 0, "", "", "InvalidResourceName"},
		{"GET", "/a--b/d/b", "", 0, "", "", "InvalidResourceName"},
		{"GET", "/ab/d/b", "", 0, "", "", "InvalidResourceName"},
		{"GET", "/fileupload", "", 0, "", "", "InvalidUri"},
		{"GET", "/fileupload/", "", 0, "", "", "InvalidUri"},
		{"GET", "/fileupload/d/../x", "", 0, "", "", "InvalidUri"},
		{"GET", "/fileupload/d//x", "", 0, "", "", "InvalidUri"},
		{"GET", "/fileupload/d/x.", "", 0, "", "", "InvalidUri"},
		{"GET", "/fileupload/d/%00", "", 0, "", "", "InvalidUri"},
		{"GET", "/fileupload/d/%zz", "", 0, "", "", "InvalidUri"},
		{"GET", "/fileupload/" + strings.Repeat("x", 1025), "", 0, "", "", "InvalidUri"},
	}
	for _, tc := range tests {
		req, err := ParseRequest(tc.method, tc.path, tc.query)
		var e *Error
		switch {
		case tc.code == "" && err != nil:
			t.Errorf("ParseRequest(%s %s?%s) = %v", tc.method, tc.path, tc.query, err)
		case tc.code != "" && (!errors.As(err, &e) || e.Code != tc.code):
			t.Errorf("ParseRequest(%s %.40s?%.40s) = %+v, %v, want %s", tc.method, tc.path, tc.query, req, err, tc.code)
		case tc.code == "" && (req.Op != tc.op || req.Container != tc.container || req.Blob != tc.blob):
			t.Errorf("ParseRequest(%s %s?%s) = %+v", tc.method, tc.path, tc.query, req)
		}
	}
}

func TestParseBlockList(t *testing.T) {
	refs, err := ParseBlockList(strings.NewReader(`<?xml version="1.0" encoding="utf-8"?>
<BlockList><Committed>AAAA</Committed>
  <Uncommitted> AQID </Uncommitted><Latest>AAAB</Latest></BlockList>`))
	if err != nil {
		t.Fatal(err)
	}
	want := []BlockRef{{"AAAA", "Committed"}, {"AQID", "Uncommitted"}, {"AAAB", "Latest"}}
	if len(refs) != 3 || refs[0] != want[0] || refs[1] != want[1] || refs[2] != want[2] {
		t.Fatalf("ParseBlockList = %+v, want %+v", refs, want)
	}
	for _, bad := range []string{"", "<BlockList>", "<Other/>", "<BlockList><Block>AAAA</Block></BlockList>",
		"<BlockList><Latest>!!</Latest></BlockList>", "<BlockList><Latest><x/></Latest></BlockList>",
		"<BlockList></BlockList><BlockList></BlockList>"} {
		if _, err := ParseBlockList(strings.NewReader(bad)); err == nil {
			t.Errorf("ParseBlockList(%q) accepted", bad)
		}
	}
}
