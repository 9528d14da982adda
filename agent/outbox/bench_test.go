package outbox

import (
	"bytes"
	"fmt"
	"os"
	"testing"
	"time"

	"go.etcd.io/bbolt"
)

// benchItem is a typical telemetry message: a ~300-byte JSON body, the
// content properties and a "<deviceId>-<boot>-<seq>" id.
func benchItem(i int) Item {
	return Item{
		Class:      ClassTelemetry,
		ID:         fmt.Sprintf("carto-0001-7-%d", i),
		Payload:    bytes.Repeat([]byte("x"), 300),
		Properties: map[string]string{"$.ct": "application/json", "$.ce": "utf-8"},
		Created:    time.Unix(1_700_000_000, 0),
	}
}

// reportDisk reports the bytes on disk per queued item: the pages the
// database uses and the file size, over the items it holds.
func reportDisk(b *testing.B, d *testDB, s *Store) {
	b.Helper()
	items, recBytes := s.Len()
	if items == 0 {
		return
	}
	var used int64
	_ = d.db.View(func(tx *bbolt.Tx) error { used = tx.Size(); return nil })
	fi, err := os.Stat(d.path)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(used)/float64(items), "disk-B/item")
	b.ReportMetric(float64(fi.Size())/float64(items), "file-B/item")
	b.ReportMetric(float64(recBytes)/float64(items), "record-B/item")
}

func reportRate(b *testing.B, n int, unit string) {
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), unit)
}

// BenchmarkPut: one committed (fsynced) transaction per Put.
func BenchmarkPut(b *testing.B) {
	d := newTestDB(b)
	s := d.store("dev-1", Limits{})
	b.ResetTimer()
	for i := range b.N {
		if _, err := s.Put(benchItem(i)); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	reportRate(b, b.N, "commits/s")
	reportDisk(b, d, s)
}

// BenchmarkPutAck: the steady state of a connected agent, one Put and one
// Ack (two commits) per message.
func BenchmarkPutAck(b *testing.B) {
	d := newTestDB(b)
	s := d.store("dev-1", Limits{})
	b.ResetTimer()
	for i := range b.N {
		it, err := s.Put(benchItem(i))
		if err != nil {
			b.Fatal(err)
		}
		if err := s.Ack(it.Class, it.Seq); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	reportRate(b, b.N, "msgs/s")
}

// BenchmarkPutMany: batches of 100 items in one transaction; b.N counts
// items, so ns/op is per item.
func BenchmarkPutMany(b *testing.B) {
	const batch = 100
	d := newTestDB(b)
	s := d.store("dev-1", Limits{})
	items := make([]Item, batch)
	b.ResetTimer()
	for done := 0; done < b.N; done += batch {
		n := min(batch, b.N-done)
		for i := range n {
			items[i] = benchItem(done + i)
		}
		if _, err := s.PutMany(items[:n]); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	reportRate(b, b.N, "items/s")
	reportDisk(b, d, s)
}

// BenchmarkNextAckMany: draining a backlog the way a reconnected agent
// would, 100 items per Next and one AckMany per batch; b.N counts items.
func BenchmarkNextAckMany(b *testing.B) {
	d := newTestDB(b)
	s := d.store("dev-1", Limits{})
	backlog := make([]Item, b.N)
	for i := range backlog {
		backlog[i] = benchItem(i)
	}
	for len(backlog) > 0 {
		n := min(1000, len(backlog))
		if _, err := s.PutMany(backlog[:n]); err != nil {
			b.Fatal(err)
		}
		backlog = backlog[n:]
	}
	b.ResetTimer()
	for {
		items, err := s.Next(100)
		if err != nil {
			b.Fatal(err)
		}
		if len(items) == 0 {
			break
		}
		if err := s.AckMany(items); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	reportRate(b, b.N, "items/s")
}
