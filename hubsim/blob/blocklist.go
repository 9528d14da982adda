package blob

import (
	"encoding/base64"
	"encoding/xml"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// maxBlockListBody bounds a Put Block List body (50,000 IDs of at most 88
// base64 characters, with their tags).
const maxBlockListBody = 8 << 20

// ParseBlockList reads a Put Block List body:
//
//	<BlockList><Latest>id</Latest><Committed>id</Committed><Uncommitted>id</Uncommitted>...</BlockList>
//
// keeping the order of the entries across element kinds.
func ParseBlockList(r io.Reader) ([]BlockRef, error) {
	dec := xml.NewDecoder(io.LimitReader(r, maxBlockListBody))
	var refs []BlockRef
	depth, roots := 0, 0
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, errXML()
		}
		switch t := tok.(type) {
		case xml.StartElement:
			depth++
			if depth == 1 {
				if roots++; roots > 1 || t.Name.Local != "BlockList" {
					return nil, errXML()
				}
			}
			if depth == 2 {
				ref, err := blockRef(dec, t)
				if err != nil {
					return nil, err
				}
				refs = append(refs, ref)
				depth--
			}
		case xml.EndElement:
			depth--
		}
	}
	if depth != 0 || roots != 1 || len(refs) > MaxBlocks {
		return nil, errXML()
	}
	return refs, nil
}

// blockRef reads the text of one <Latest|Committed|Uncommitted> element.
func blockRef(dec *xml.Decoder, start xml.StartElement) (BlockRef, error) {
	switch start.Name.Local {
	case "Latest", "Committed", "Uncommitted":
	default:
		return BlockRef{}, errXML()
	}
	var id string
	if err := dec.DecodeElement(&id, &start); err != nil {
		return BlockRef{}, errXML()
	}
	id = strings.TrimSpace(id)
	if _, err := DecodeBlockID(id); err != nil {
		return BlockRef{}, ErrInvalidList
	}
	return BlockRef{ID: id, Kind: start.Name.Local}, nil
}

func errXML() *Error {
	return &Error{Status: 400, Code: "InvalidXmlDocument", Message: "XML specified is not syntactically valid."}
}

// putBlockList commits a block list with the metadata and blob
// properties its headers give; its own Content-MD5 or x-ms-content-crc64,
// if any, must match the XML body.
func (s *Server) putBlockList(w http.ResponseWriter, r *http.Request, req Request, now time.Time) error {
	a, want, err := blockListHeaders(r.Header)
	if err != nil {
		return err
	}
	sums := newSummer(want)
	refs, err := ParseBlockList(io.TeeReader(r.Body, sums))
	if err != nil {
		return err
	}
	if err := want.check(sums.digests()); err != nil {
		return err
	}
	p, err := s.store.CommitBlockList(req.Container, req.Blob, refs, a, now)
	if err != nil {
		return err
	}
	created(w, p)
	return nil
}

// blockListHeaders reads a Put Block List's headers: the blob's content
// type, MD5 (x-ms-blob-content-md5, stored unchecked) and metadata, and
// the request body's checksums.
func blockListHeaders(h http.Header) (Attrs, Digests, error) {
	a := Attrs{ContentType: h.Get("x-ms-blob-content-type")}
	if v := h.Get("x-ms-blob-content-md5"); v != "" {
		md5, err := base64.StdEncoding.DecodeString(v)
		if err != nil {
			return Attrs{}, Digests{}, &Error{Status: 400, Code: "InvalidHeaderValue", Message: "x-ms-blob-content-md5 is not base64."}
		}
		a.ContentMD5 = md5
	}
	meta, err := ParseMetadata(h)
	if err != nil {
		return Attrs{}, Digests{}, err
	}
	a.Metadata = meta
	want, err := bodyDigests(h)
	return a, want, err
}

// blockListXML is the Get Block List response body.
type blockListXML struct {
	XMLName     xml.Name   `xml:"BlockList"`
	Committed   *blocksXML `xml:"CommittedBlocks"`
	Uncommitted *blocksXML `xml:"UncommittedBlocks"`
}

type blocksXML struct {
	Blocks []blockXML `xml:"Block"`
}

type blockXML struct {
	Name string `xml:"Name"`
	Size int64  `xml:"Size"`
}

func toXML(bs []Block) *blocksXML {
	out := &blocksXML{Blocks: []blockXML{}}
	for _, b := range bs {
		out.Blocks = append(out.Blocks, blockXML{b.ID, b.Size})
	}
	return out
}

func (s *Server) getBlockList(w http.ResponseWriter, req Request) error {
	committed, uncommitted, err := s.store.BlockLists(req.Container, req.Blob)
	if err != nil {
		return err
	}
	var body blockListXML
	if req.ListType != "uncommitted" {
		body.Committed = toXML(committed)
	}
	if req.ListType != "committed" {
		body.Uncommitted = toXML(uncommitted)
	}
	if p, err := s.store.Props(req.Container, req.Blob); err == nil {
		w.Header().Set("ETag", p.ETag)
		w.Header().Set("Last-Modified", p.Modified.Format(http.TimeFormat))
		w.Header().Set("x-ms-blob-content-length", strconv.FormatInt(p.Size, 10))
	}
	w.Header().Set("Content-Type", "application/xml")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write([]byte(xml.Header))
	_ = xml.NewEncoder(w).Encode(body) // headers are sent: a write error is the client's
	return nil
}
