package main

import (
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/vbauerster/mpb/v8"
	"github.com/vbauerster/mpb/v8/decor"

	"github.com/cloudpillar/cloudpillar/scenarios"
)

// plainEvery is how often a non-terminal gets a progress line.
const plainEvery = 5 * time.Second

// progress shows a run's progress: mpb bars on a terminal, a plain line
// every few seconds otherwise (CI logs, pipes).
type progress struct {
	w io.Writer

	mu        sync.Mutex
	p         *mpb.Progress // nil when not a terminal
	connected *mpb.Bar
	delivered *mpb.Bar
	lastLine  time.Time
}

func newProgress(w io.Writer, devices int) *progress {
	pr := &progress{w: w}
	if !isTerminal(w) {
		return pr
	}
	pr.p = mpb.New(mpb.WithOutput(w), mpb.WithWidth(40), mpb.WithRefreshRate(200*time.Millisecond))
	pr.connected = pr.p.AddBar(int64(devices),
		mpb.PrependDecorators(decor.Name("connected  ", decor.WC{C: decor.DindentRight})),
		mpb.AppendDecorators(decor.CountersNoUnit("%d / %d")))
	pr.delivered = pr.p.AddBar(1,
		mpb.PrependDecorators(decor.Name("delivered  ", decor.WC{C: decor.DindentRight})),
		mpb.AppendDecorators(decor.CountersNoUnit("%d / %d messages")))
	return pr
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

func (pr *progress) update(p scenarios.Progress) {
	pr.mu.Lock()
	defer pr.mu.Unlock()
	if pr.p == nil {
		if time.Since(pr.lastLine) < plainEvery && p.Phase != scenarios.PhaseDone {
			return
		}
		pr.lastLine = time.Now()
		fmt.Fprintf(pr.w, "%6.1fs %-9s connected %d/%d, delivered %d/%d messages\n",
			p.Elapsed.Seconds(), p.Phase, p.Connected, p.Devices, p.Delivered, p.Sent)
		return
	}
	pr.connected.SetCurrent(int64(p.Connected))
	pr.delivered.SetTotal(max(p.Sent, 1), false)
	pr.delivered.SetCurrent(p.Delivered)
}

func (pr *progress) finish() {
	pr.mu.Lock()
	defer pr.mu.Unlock()
	if pr.p == nil {
		return
	}
	pr.connected.Abort(false)
	pr.delivered.Abort(false)
	pr.p.Wait()
}
