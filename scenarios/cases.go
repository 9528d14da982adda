package scenarios

import (
	"fmt"
	"time"

	"github.com/cloudpillar/cloudpillar/devsim"
)

// pickDevices chooses ceil(share x fleet) devices from the run's seeded
// random source, so the same seed gives the same patients.
func (r *run) pickDevices(share float64) []*devsim.Device {
	all := r.fleet.Devices()
	n := int(share*float64(len(all)) + 0.999999)
	perm := r.rnd.Perm(len(all))
	out := make([]*devsim.Device, 0, n)
	for _, i := range perm[:min(n, len(all))] {
		out = append(out, all[i])
	}
	return out
}

func (r *run) startCases(devs []*devsim.Device) {
	for _, d := range devs {
		r.caseStarted(d.ID, time.Now())
		d.CARTO.StartCase()
	}
	r.cases += len(devs)
	r.net.Timeline().Record("cases", "", fmt.Sprintf("patient cases started on %d devices", len(devs)))
}

func (r *run) endCases(devs []*devsim.Device) {
	for _, d := range devs {
		d.CARTO.EndCase()
		r.caseEnded(d.ID, time.Now())
	}
	r.net.Timeline().Record("cases-end", "", fmt.Sprintf("patient cases ended on %d devices", len(devs)))
}
