package blob

import (
	"bytes"
	"crypto/md5"
	"encoding/base64"
	"encoding/binary"
	"hash"
	"hash/crc64"
	"net/http"
)

// Digests are the transactional checksums of a request body: Content-MD5
// and x-ms-content-crc64 (Blob REST "Put Block", "Put Blob"). Azure
// checks each one given against the body it received and stores nothing
// on a mismatch; neither is kept with the blob. Nil fields are not
// checked.
type Digests struct {
	MD5   []byte // 16 bytes
	CRC64 []byte // 8 bytes, little-endian, as the Azure SDKs send it
}

// crc64Table is Azure Storage's CRC-64 (polynomial 0x9A6C9329AC4BC9B5 in
// hash/crc64's reversed form, as the Azure SDK for Go uses it).
var crc64Table = crc64.MakeTable(0x9A6C9329AC4BC9B5)

// bodyDigests reads the Content-MD5 and x-ms-content-crc64 request
// headers: 400 InvalidMd5 or InvalidHeaderValue when malformed.
func bodyDigests(h http.Header) (Digests, error) {
	var d Digests
	if v := h.Get("Content-MD5"); v != "" {
		b, err := base64.StdEncoding.DecodeString(v)
		if err != nil || len(b) != md5.Size {
			return Digests{}, ErrInvalidMD5
		}
		d.MD5 = b
	}
	if v := h.Get("x-ms-content-crc64"); v != "" {
		b, err := base64.StdEncoding.DecodeString(v)
		if err != nil || len(b) != 8 {
			return Digests{}, &Error{Status: 400, Code: "InvalidHeaderValue",
				Message: "The value for one of the HTTP headers is not in the correct format (x-ms-content-crc64)."}
		}
		d.CRC64 = b
	}
	return d, nil
}

// check compares the digests got of a body with those it should have.
func (want Digests) check(got Digests) error {
	switch {
	case want.MD5 != nil && !bytes.Equal(want.MD5, got.MD5):
		return ErrMD5Mismatch
	case want.CRC64 != nil && !bytes.Equal(want.CRC64, got.CRC64):
		return ErrCRC64Mismatch
	}
	return nil
}

// summer computes a body's MD5, and its CRC-64 when one is to be checked.
type summer struct {
	md5   hash.Hash
	crc64 hash.Hash64 // nil unless wanted
}

func newSummer(want Digests) *summer {
	s := &summer{md5: md5.New()}
	if want.CRC64 != nil {
		s.crc64 = crc64.New(crc64Table)
	}
	return s
}

func (s *summer) Write(p []byte) (int, error) {
	s.md5.Write(p) // hash writes never fail
	if s.crc64 != nil {
		s.crc64.Write(p)
	}
	return len(p), nil
}

func (s *summer) digests() Digests {
	d := Digests{MD5: s.md5.Sum(nil)}
	if s.crc64 != nil {
		d.CRC64 = binary.LittleEndian.AppendUint64(nil, s.crc64.Sum64())
	}
	return d
}
