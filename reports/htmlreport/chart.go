package htmlreport

import (
	"math"
	"strconv"

	"github.com/cloudpillar/cloudpillar/reports"
)

// Chart geometry in SVG user units: the plot area sits inside the margins.
const (
	chartWidth   = 640
	chartHeight  = 200
	marginLeft   = 72
	marginRight  = 16
	marginTop    = 12
	marginBottom = 32
	plotWidth    = chartWidth - marginLeft - marginRight
	plotHeight   = chartHeight - marginTop - marginBottom
)

// chart is one line chart, every coordinate already formatted.
type chart struct {
	Title         string
	Width, Height int
	Left, Right   string // x of the plot area's edges
	Bottom        string // y of the x axis
	LabelX        string // x where y labels end
	XLabelY       string // y of the x labels' baseline
	Grid          []tick // horizontal grid lines, Pos is y
	XTicks        []tick // Pos is x
	Series        []series
}

type tick struct {
	Pos   string
	Label string
}

// series is one line; Class picks its colour in the stylesheet.
type series struct {
	Name, Class  string
	Points       string
	LastX, LastY string
	values       []float64
}

// charts returns the sample charts, or nil when there are no samples.
func charts(s *reports.Summary) []chart {
	if len(s.Samples) == 0 {
		return nil
	}
	xs := make([]float64, len(s.Samples))
	connected := make([]float64, len(s.Samples))
	delivered := make([]float64, len(s.Samples))
	heap := make([]float64, len(s.Samples))
	rss := make([]float64, len(s.Samples))
	for i, p := range s.Samples {
		xs[i] = p.ElapsedSeconds
		connected[i] = float64(p.Connected)
		delivered[i] = float64(p.Delivered)
		heap[i] = float64(p.HeapBytes) / (1 << 20)
		rss[i] = float64(p.RSSBytes) / (1 << 20)
	}
	whole := func(v float64) string { return count(int64(v)) }
	mib := func(v float64) string { return decimal(v) + " MiB" }
	return []chart{
		newChart("Connected devices", xs, float64(s.Devices), whole,
			series{Name: "connected", Class: "s1", values: connected}),
		newChart("Delivered messages", xs, 0, whole,
			series{Name: "delivered", Class: "s1", values: delivered}),
		newChart("Memory", xs, 0, mib,
			series{Name: "heap", Class: "s1", values: heap},
			series{Name: "RSS", Class: "s2", values: rss}),
	}
}

// newChart lays out lines over xs (seconds from start) with the y axis from
// 0 to the largest value, or to yFloor if that is larger.
func newChart(title string, xs []float64, yFloor float64, formatY func(float64) string, lines ...series) chart {
	xMax := max(maxOf(xs), 1)
	yMax := max(yFloor, 1)
	for _, l := range lines {
		yMax = max(yMax, maxOf(l.values))
	}
	xPos := func(v float64) float64 { return marginLeft + max(v, 0)/xMax*plotWidth }
	yPos := func(v float64) float64 { return marginTop + plotHeight - max(v, 0)/yMax*plotHeight }
	c := chart{
		Title: title, Width: chartWidth, Height: chartHeight,
		Left: coord(marginLeft), Right: coord(chartWidth - marginRight),
		Bottom: coord(marginTop + plotHeight), LabelX: coord(marginLeft - 6),
		XLabelY: coord(chartHeight - 10),
	}
	for _, f := range []float64{0, 0.5, 1} {
		c.Grid = append(c.Grid, tick{coord(yPos(f * yMax)), formatY(f * yMax)})
		c.XTicks = append(c.XTicks, tick{coord(xPos(f * xMax)), seconds(f * xMax)})
	}
	for _, l := range lines {
		c.Series = append(c.Series, l.layout(xs, xPos, yPos))
	}
	return c
}

// layout fills the series' points from its values.
func (l series) layout(xs []float64, xPos, yPos func(float64) float64) series {
	var pts []byte
	for i, v := range l.values {
		if i > 0 {
			pts = append(pts, ' ')
		}
		pts = append(pts, coord(xPos(xs[i]))+","+coord(yPos(v))...)
	}
	last := len(l.values) - 1
	l.Points = string(pts)
	l.LastX, l.LastY = coord(xPos(xs[last])), coord(yPos(l.values[last]))
	return l
}

func maxOf(values []float64) float64 {
	m := 0.0
	for _, v := range values {
		if !math.IsNaN(v) && !math.IsInf(v, 0) {
			m = max(m, v)
		}
	}
	return m
}

// coord formats an SVG coordinate to one decimal.
func coord(v float64) string { return strconv.FormatFloat(v, 'f', 1, 64) }
