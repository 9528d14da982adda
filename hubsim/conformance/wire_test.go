package conformance_test

import (
	"bufio"
	"crypto/tls"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/cloudpillar/cloudpillar/internal/nodewire"
)

// rawPacket returns rec's bytes as the SDK sent them.
func rawPacket(t testing.TB, rec nodewire.Record) []byte {
	t.Helper()
	b, err := rec.Raw()
	if err != nil {
		t.Fatalf("%s/%d %s: rawBase64: %v", rec.Flow, rec.Conn, rec.Type, err)
	}
	return b
}

// MQTT packet types (high nibble of the first byte).
const (
	pConnack  = 2
	pPublish  = 3
	pPuback   = 4
	pSuback   = 9
	pPingresp = 13
)

// packet is one packet the hub sent, decoded as far as the replay needs.
type packet struct {
	typ, qos byte
	pid      uint16
	topic    string
	payload  []byte
	codes    []byte // CONNACK: [flags, code]; SUBACK: granted
}

func readPacket(r *bufio.Reader) (packet, error) {
	h, err := r.ReadByte()
	if err != nil {
		return packet{}, err
	}
	n, err := binary.ReadUvarint(r) // MQTT's remaining length is the same base-128 encoding
	if err != nil || n > 1<<20 {
		return packet{}, errors.New("bad remaining length")
	}
	body := make([]byte, n)
	if _, err := io.ReadFull(r, body); err != nil {
		return packet{}, err
	}
	p := packet{typ: h >> 4, qos: (h >> 1) & 3}
	switch p.typ {
	case pPublish:
		tl := int(binary.BigEndian.Uint16(body))
		p.topic, body = string(body[2:2+tl]), body[2+tl:]
		if p.qos > 0 {
			p.pid, body = binary.BigEndian.Uint16(body), body[2:]
		}
		p.payload = body
	case pPuback:
		p.pid = binary.BigEndian.Uint16(body)
	case pSuback:
		p.pid, p.codes = binary.BigEndian.Uint16(body), body[2:]
	case pConnack:
		p.codes = body
	}
	return p, nil
}

// encodePublish builds a PUBLISH with the first byte of an original one.
func encodePublish(first byte, topic string, pid uint16, payload []byte) []byte {
	var body []byte
	body = binary.BigEndian.AppendUint16(body, uint16(len(topic)))
	body = append(body, topic...)
	if (first>>1)&3 > 0 {
		body = binary.BigEndian.AppendUint16(body, pid)
	}
	body = append(body, payload...)
	out := append([]byte{first}, binary.AppendUvarint(nil, uint64(len(body)))...)
	return append(out, body...)
}

// wireConn is a raw TLS connection to the hub that writes captured bytes
// and collects what the hub answers.
type wireConn struct {
	t      testing.TB
	conn   net.Conn
	in     chan packet
	closed chan struct{} // closed when the hub ends the connection
	held   []packet      // read but not yet expected
	wg     sync.WaitGroup
	once   sync.Once
}

func dialWire(t testing.TB, addr string, cfg *tls.Config) *wireConn {
	t.Helper()
	c, err := tls.Dial("tcp", addr, cfg)
	if err != nil {
		t.Fatalf("dial hub: %v", err)
	}
	return newWireConn(t, c)
}

func newWireConn(t testing.TB, c net.Conn) *wireConn {
	w := &wireConn{t: t, conn: c, in: make(chan packet, 64), closed: make(chan struct{})}
	w.wg.Add(1)
	go w.read()
	t.Cleanup(w.close)
	return w
}

func (w *wireConn) read() {
	defer w.wg.Done()
	defer close(w.closed)
	r := bufio.NewReader(w.conn)
	for {
		p, err := readPacket(r)
		if err != nil {
			return
		}
		w.in <- p
	}
}

// close closes the connection and waits for the reader; idempotent.
func (w *wireConn) close() {
	w.once.Do(func() {
		w.conn.Close()
		go func() {
			for range w.in { // unblock the reader
			}
		}()
		w.wg.Wait()
		close(w.in)
	})
}

func (w *wireConn) send(b []byte) {
	w.t.Helper()
	w.conn.SetWriteDeadline(time.Now().Add(waitFor))
	if _, err := w.conn.Write(b); err != nil {
		w.t.Fatalf("write to hub: %v", err)
	}
}

// expect returns the first packet from the hub that matches, waiting up to
// waitFor; packets that do not match are held for later expectations.
func (w *wireConn) expect(desc string, match func(packet) bool) packet {
	w.t.Helper()
	for i, p := range w.held {
		if match(p) {
			w.held = append(w.held[:i], w.held[i+1:]...)
			return p
		}
	}
	deadline := time.After(waitFor)
	closed := w.closed
	for {
		select {
		case p := <-w.in:
			if match(p) {
				return p
			}
			w.held = append(w.held, p)
		case <-closed:
			closed = nil // drain what was read before the end, then give up
			deadline = time.After(50 * time.Millisecond)
		case <-deadline:
			w.t.Fatalf("no %s from the hub (closed: %v, held %+v)", desc, closed == nil, w.held)
		}
	}
}

// waitClosed waits for the hub to end the connection.
func (w *wireConn) waitClosed(why string) {
	w.t.Helper()
	select {
	case <-w.closed:
	case <-time.After(waitFor):
		w.t.Fatalf("hub kept the connection open after %s", why)
	}
}
