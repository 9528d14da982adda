package outbox

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/cloudpillar/cloudpillar/internal/leakcheck"
)

// TestConcurrentPutNextAck runs producers and consumers against one store
// (run it with -race): every item put is delivered and acked exactly once
// in the end, and the counts agree.
func TestConcurrentPutNextAck(t *testing.T) {
	leakcheck.Check(t, waitTimeout)
	d := newTestDB(t)
	s := d.store("dev-1", Limits{})
	const producers, perProducer, consumers = 3, 40, 2

	var wg sync.WaitGroup
	errs := make(chan error, producers+consumers)
	for p := range producers {
		wg.Go(func() {
			for i := range perProducer {
				c := ClassTelemetry
				if i%7 == 0 {
					c = ClassAlert
				}
				if _, err := s.Put(testItem(c, fmt.Sprintf("p%d-%d", p, i))); err != nil {
					errs <- err
					return
				}
			}
		})
	}

	var mu sync.Mutex
	acked := map[string]int{} // guarded by mu
	done := make(chan struct{})
	var cwg sync.WaitGroup
	stop := sync.OnceFunc(func() { close(done); cwg.Wait() })
	defer stop() // also on a failed test, so no consumer outlives it
	for range consumers {
		cwg.Go(func() {
			for {
				items, err := s.Next(5)
				if err != nil {
					errs <- err
					return
				}
				for _, it := range items {
					if err := s.Ack(it.Class, it.Seq); err != nil {
						errs <- err
						return
					}
					mu.Lock()
					acked[it.ID]++
					mu.Unlock()
				}
				if len(items) == 0 {
					select {
					case <-done:
						return
					case <-time.After(time.Millisecond):
					}
				}
			}
		})
	}
	wg.Wait()
	deadline := time.Now().Add(waitTimeout)
	for n, _ := s.Len(); n > 0; n, _ = s.Len() {
		if time.Now().After(deadline) {
			t.Fatalf("%d items still queued after %v", n, waitTimeout)
		}
		time.Sleep(5 * time.Millisecond)
	}
	stop()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	// Two consumers may both read an item before either acks it, so an
	// item can be handed out twice (at-least-once); none may be missing.
	if len(acked) != producers*perProducer {
		t.Fatalf("%d distinct items delivered, want %d", len(acked), producers*perProducer)
	}
	st := s.Stats()
	if st.Put != producers*perProducer || st.Acked != producers*perProducer || st.Items != 0 || st.Bytes != 0 {
		t.Errorf("Stats = %+v, want Put = Acked = %d and nothing left", st, producers*perProducer)
	}
}
