// Package chaos owns fault injection for the Cloud Pillar harness and the
// timeline that records every fault.
//
// A [Network] groups device connections by hospital site. Each connection a
// device opens is wrapped (see [Network.Wrap] and [Network.Dialer]) in a
// net.Conn that can be cut off from its peer: [Network.Partition] turns a
// site into a blackhole and [Network.Heal] restores it. A partition looks to
// the application like a real network partition, with no FIN and no RST:
//
//   - writes succeed but their bytes are held in a bounded per-connection
//     send buffer ([DefaultSendBuffer]); a full buffer blocks the writer until
//     heal, close or the write deadline; held bytes are delivered in order on
//     heal, like TCP retransmission;
//   - bytes from the peer are not returned to the reader until heal; a Read
//     already blocked in the underlying conn holds what it receives;
//   - Close is immediate for the local side, but the underlying conn is
//     closed (the FIN sent) only on heal, and held writes are dropped;
//   - new dials through [Network.Dialer] wait for the heal or the context.
//
// Every Partition and Heal is recorded on a [Timeline] with the time of a
// [Clock], so reports can draw the fault timeline.
//
// A wrapper costs no file descriptor, no listener and, while its site is
// healthy, no goroutine: Read and Write check two atomic flags and call the
// underlying conn. Goroutines exist only while faults are active: a heal
// starts one flush goroutine per connection with held writes, which ends when
// the held bytes are delivered, the connection fails, or [Network.Linger]
// after the connection was closed.
//
// Imports: the standard library only.
//
// Concurrency: all exported methods are safe for concurrent use. A wrapped
// conn follows the net.Conn contract (concurrent Read, Write, Close and
// deadline calls are allowed). Socket deadlines use the wall clock; the
// [Clock] only stamps timeline events. Lock order: site.mu, then conn.mu,
// then Timeline.mu; conn.mu is never held while taking site.mu.
package chaos
