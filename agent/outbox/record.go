package outbox

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"slices"
	"time"
)

// A queued record is the item's value in its class bucket (the key is the
// big-endian Seq). Version 1 layout:
//
//	byte      version (1)
//	byte      flags (bit 0: Created is set)
//	8 bytes   Created, Unix nanoseconds, big-endian (only if flag bit 0)
//	uvarint   len(ID), ID
//	uvarint   number of properties, then per property (sorted by key):
//	          uvarint len(key), key, uvarint len(value), value
//	uvarint   len(Payload), Payload
//	4 bytes   CRC-32C of everything above, big-endian
const recordV1 = 1

const flagCreated = 1

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// encodeRecord appends the record for it to dst.
func encodeRecord(dst []byte, it Item) []byte {
	start := len(dst)
	var flags byte
	if !it.Created.IsZero() {
		flags |= flagCreated
	}
	dst = append(dst, recordV1, flags)
	if flags&flagCreated != 0 {
		dst = binary.BigEndian.AppendUint64(dst, uint64(it.Created.UnixNano()))
	}
	dst = appendString(dst, it.ID)
	keys := make([]string, 0, len(it.Properties))
	for k := range it.Properties {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	dst = binary.AppendUvarint(dst, uint64(len(keys)))
	for _, k := range keys {
		dst = appendString(dst, k)
		dst = appendString(dst, it.Properties[k])
	}
	dst = binary.AppendUvarint(dst, uint64(len(it.Payload)))
	dst = append(dst, it.Payload...)
	return binary.BigEndian.AppendUint32(dst, crc32.Checksum(dst[start:], castagnoli))
}

// encodedSize is the stored size of it: key plus record.
func encodedSize(it Item) int64 {
	n := 8 + 2 + 8 + 4 + uvarintLen(len(it.ID)) + len(it.ID) + uvarintLen(len(it.Properties))
	for k, v := range it.Properties {
		n += uvarintLen(len(k)) + len(k) + uvarintLen(len(v)) + len(v)
	}
	n += uvarintLen(len(it.Payload)) + len(it.Payload)
	if it.Created.IsZero() {
		n -= 8
	}
	return int64(n)
}

func uvarintLen(n int) int {
	var b [binary.MaxVarintLen64]byte
	return binary.PutUvarint(b[:], uint64(n))
}

func appendString(dst []byte, s string) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(s)))
	return append(dst, s...)
}

var errTruncated = errors.New("record truncated")

// decodeRecord parses a record; the result shares no memory with b.
func decodeRecord(b []byte) (Item, error) {
	if len(b) < 2+4 {
		return Item{}, fmt.Errorf("record of %d bytes is too short", len(b))
	}
	body, sum := b[:len(b)-4], binary.BigEndian.Uint32(b[len(b)-4:])
	if got := crc32.Checksum(body, castagnoli); got != sum {
		return Item{}, fmt.Errorf("record checksum %08x, want %08x", got, sum)
	}
	if body[0] != recordV1 {
		return Item{}, fmt.Errorf("record version %d, want %d", body[0], recordV1)
	}
	d := decoder{b: body[2:]}
	var it Item
	if body[1]&flagCreated != 0 {
		it.Created = time.Unix(0, int64(d.uint64())).UTC()
	}
	it.ID = d.string()
	if n := d.uvarint(); n > 0 && d.err == nil {
		if n > uint64(len(d.b)) {
			return Item{}, fmt.Errorf("record claims %d properties in %d bytes", n, len(d.b))
		}
		it.Properties = make(map[string]string, n)
		for range n {
			k := d.string()
			it.Properties[k] = d.string()
		}
	}
	it.Payload = d.bytes()
	if d.err == nil && len(d.b) != 0 {
		d.err = fmt.Errorf("%d bytes after the payload", len(d.b))
	}
	if d.err != nil {
		return Item{}, d.err
	}
	return it, nil
}

// decoder reads fields until the first error, which it keeps.
type decoder struct {
	b   []byte
	err error
}

func (d *decoder) uint64() uint64 {
	if d.err != nil || len(d.b) < 8 {
		d.fail()
		return 0
	}
	v := binary.BigEndian.Uint64(d.b)
	d.b = d.b[8:]
	return v
}

func (d *decoder) uvarint() uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.fail()
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) bytes() []byte {
	n := d.uvarint()
	if d.err != nil || n > uint64(len(d.b)) {
		d.fail()
		return nil
	}
	if n == 0 {
		return nil
	}
	v := slices.Clone(d.b[:n])
	d.b = d.b[n:]
	return v
}

func (d *decoder) string() string { return string(d.bytes()) }

func (d *decoder) fail() {
	if d.err == nil {
		d.err = errTruncated
	}
}
