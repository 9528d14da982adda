package htmlreport

import (
	"slices"

	"github.com/cloudpillar/cloudpillar/reports"
)

// event is one timeline row.
type event struct {
	Offset string // from StartedAt, or the absolute time if that is unknown
	At     string // absolute time, shown on hover
	Kind   string
	Site   string
	Detail string
}

// timeline returns the events in time order (stable for equal times).
func timeline(s *reports.Summary) []event {
	events := slices.Clone(s.Timeline)
	slices.SortStableFunc(events, func(a, b reports.TimelineEvent) int {
		return a.At.Compare(b.At)
	})
	out := make([]event, 0, len(events))
	for _, e := range events {
		ev := event{At: timestamp(e.At), Kind: e.Kind, Site: e.Site, Detail: e.Detail}
		ev.Offset = ev.At
		if !s.StartedAt.IsZero() && !e.At.IsZero() {
			ev.Offset = offset(e.At.Sub(s.StartedAt))
		}
		out = append(out, ev)
	}
	return out
}
