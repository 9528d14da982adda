package outbox

import (
	"bytes"
	"fmt"
	"log/slog"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"go.etcd.io/bbolt"
)

// waitTimeout bounds every poll in these tests; generous for a loaded
// 2-core machine.
const waitTimeout = 20 * time.Second

// testDB is a bbolt file in a temporary directory that a test can close
// and reopen, as a restart would.
type testDB struct {
	t    testing.TB
	path string
	db   *bbolt.DB
}

func newTestDB(t testing.TB) *testDB {
	t.Helper()
	d := &testDB{t: t, path: filepath.Join(t.TempDir(), "outbox.db")}
	d.reopen()
	t.Cleanup(func() {
		if d.db != nil {
			_ = d.db.Close()
		}
	})
	return d
}

// reopen closes the database (if open) and opens it again.
func (d *testDB) reopen() *bbolt.DB {
	d.t.Helper()
	if d.db != nil {
		if err := d.db.Close(); err != nil {
			d.t.Fatalf("close %s: %v", d.path, err)
		}
	}
	db, err := bbolt.Open(d.path, 0o600, &bbolt.Options{Timeout: waitTimeout})
	if err != nil {
		d.t.Fatalf("open %s: %v", d.path, err)
	}
	d.db = db
	return db
}

// store opens the store under prefix in the current database.
func (d *testDB) store(prefix string, lim Limits, opts ...Option) *Store {
	d.t.Helper()
	s, err := Open(d.db, prefix, lim, opts...)
	if err != nil {
		d.t.Fatalf("Open(%q): %v", prefix, err)
	}
	return s
}

// telemetry and alert make items with recognisable contents.
func telemetry(id string) Item { return testItem(ClassTelemetry, id) }
func alert(id string) Item     { return testItem(ClassAlert, id) }

func testItem(c Class, id string) Item {
	return Item{
		Class:      c,
		ID:         id,
		Payload:    []byte(`{"id":"` + id + `"}`),
		Properties: map[string]string{"$.ct": "application/json", "kind": c.String()},
		Created:    time.Unix(1_700_000_000, 123).UTC(),
	}
}

func mustPut(t testing.TB, s *Store, items ...Item) []Item {
	t.Helper()
	out := make([]Item, len(items))
	for i, it := range items {
		got, err := s.Put(it)
		if err != nil {
			t.Fatalf("Put(%q): %v", it.ID, err)
		}
		out[i] = got
	}
	return out
}

// ids lists the items' IDs, for readable comparisons.
func ids(items []Item) []string {
	out := make([]string, len(items))
	for i, it := range items {
		out[i] = it.ID
	}
	return out
}

func mustNext(t testing.TB, s *Store, n int) []Item {
	t.Helper()
	items, err := s.Next(n)
	if err != nil {
		t.Fatalf("Next(%d): %v", n, err)
	}
	return items
}

// sameItem compares everything Put stores.
func sameItem(a, b Item) error {
	switch {
	case a.Class != b.Class || a.Seq != b.Seq || a.ID != b.ID:
		return fmt.Errorf("class/seq/id %v/%d/%q, want %v/%d/%q", a.Class, a.Seq, a.ID, b.Class, b.Seq, b.ID)
	case !bytes.Equal(a.Payload, b.Payload):
		return fmt.Errorf("payload %q, want %q", a.Payload, b.Payload)
	case !a.Created.Equal(b.Created):
		return fmt.Errorf("created %v, want %v", a.Created, b.Created)
	case fmt.Sprint(a.Properties) != fmt.Sprint(b.Properties):
		return fmt.Errorf("properties %v, want %v", a.Properties, b.Properties)
	}
	return nil
}

// logBuffer collects log output for assertions; safe for concurrent use.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

func (l *logBuffer) logger() *slog.Logger { return slog.New(slog.NewTextHandler(l, nil)) }
