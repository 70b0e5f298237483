package chart

import (
	"fmt"
	"image/color"
	"math"
	"slices"
	"strings"
	"time"
	"unicode"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"github.com/runlog/runlog/internal/series"
)

// Figure is what a chart file shows: panels side by side, one per x-axis,
// and a legend of the runs and keys beside them.
type Figure struct {
	Title  string
	Runs   []string // labels of the runs, by Curve.Run
	Keys   []string // the keys drawn, in legend order
	YLabel string   // what the values are: "loss", "learning rate"
	Panels []Panel
	LogY   bool
	Smooth float64 // the EMA weight of smoothed curves, for the legend
	// YFromZero starts the y-axis at 0 when the values start near it: for
	// a learning-rate schedule, not for a loss.
	YFromZero bool
	// Width and Height are the size in pixels of a PNG; SVG and PDF files
	// have the same size at 150 dots per inch. 0 means the default.
	Width, Height int
	// Location is the time zone of date axes; nil means time.Local.
	Location *time.Location
	// Cols lays the panels out in rows of Cols (one row of all when 0),
	// each row DefaultHeight high by default: panels of keys whose values
	// are ten times apart.
	Cols int
	// Unit names what Runs are in the legend's note when there are more
	// than Palette has colours: "runs" or "groups".
	Unit string
}

// Panel is one chart of a figure: curves against one x-axis.
type Panel struct {
	Axis   series.Axis
	Curves []Curve
	YLabel string // what the panel's values are, when not the figure's YLabel
}

// Default sizes of figures, in pixels.
const (
	DefaultPanelWidth = 800  // a panel of a figure of several
	SinglePanelWidth  = 1000 // a figure of one panel
	DefaultHeight     = 600
	ScheduleWidth     = 1000 // the learning-rate schedule, one panel
	ScheduleHeight    = 500
	minPanelWidth     = 200
	minHeight         = 150
)

// size returns the figure's size in pixels.
func (f *Figure) size() (w, h int) {
	w, h = f.Width, f.Height
	cols, rows := f.grid()
	if w <= 0 {
		w = DefaultPanelWidth * cols
		if cols == 1 {
			w = SinglePanelWidth
		}
	}
	if h <= 0 {
		h = DefaultHeight * rows
	}
	return max(w, minPanelWidth*cols), max(h, minHeight*rows)
}

// grid returns the number of panels a row and of rows.
func (f *Figure) grid() (cols, rows int) {
	n := max(1, len(f.Panels))
	cols = n
	if f.Cols > 0 && f.Cols < n {
		cols = f.Cols
	}
	return cols, (n + cols - 1) / cols
}

// pt converts pixels to points.
func pt(px int) vg.Length { return vg.Length(px) * vg.Inch / dpi }

// style is how one curve is drawn.
type style struct {
	line   draw.LineStyle
	marker *draw.GlyphStyle
}

// sparse is the most points a curve may have to be drawn with markers.
const sparse = 60

// curveStyle returns the style of a curve: with one run, keys differ by
// colour; with several, runs differ by colour and keys by dashes.
func (f *Figure) curveStyle(c *Curve) style {
	k := max(0, slices.Index(f.Keys, c.Key))
	var s style
	if len(f.Runs) > 1 {
		s.line = draw.LineStyle{Color: paletteColor(c.Run), Width: lineWidth, Dashes: keyDashes(k)}
		if k == 0 {
			s.line.Dashes = dashes(c.Run)
		}
	} else {
		s.line = draw.LineStyle{Color: paletteColor(k), Width: lineWidth, Dashes: dashes(k)}
	}
	if c.Points <= sparse {
		s.marker = &draw.GlyphStyle{Color: s.line.Color, Radius: markerRadius, Shape: markerShape(k)}
	}
	return s
}

// markerShape returns the marker of the k-th key: filled circles for
// the train and validation losses, then squares and triangles.
func markerShape(k int) draw.GlyphDrawer {
	switch k % 4 {
	case 2:
		return draw.BoxGlyph{}
	case 3:
		return draw.PyramidGlyph{}
	}
	return draw.CircleGlyph{}
}

// axisUnit returns the x-axis's label and the divisor of its values.
func (p *Panel) axisUnit() (label string, div float64) {
	switch p.Axis {
	case series.AxisWallclock, series.AxisActive:
		var span float64
		for _, c := range p.Curves {
			if n := c.Raw.Len(); n > 0 {
				span = math.Max(span, c.Raw.X[n-1])
			}
		}
		div, unit := timeUnit(span)
		what := "wallclock time"
		if p.Axis == series.AxisActive {
			what = "active time"
		}
		return fmt.Sprintf("%s (%s)", what, unit), div
	case series.AxisTime:
		return "time", 1
	}
	return "gradient step", 1
}

// axisTitle names the x-axis in a panel's title.
func axisTitle(a series.Axis) string {
	switch a {
	case series.AxisWallclock:
		return "by wallclock time"
	case series.AxisActive:
		return "by active time"
	case series.AxisTime:
		return "by date"
	}
	return "by gradient step"
}

// plot builds the gonum plot of panel i, for a data area about w×h, with
// titles in bold.
func (f *Figure) plot(i int, w, h vg.Length, bold font.Font) *plot.Plot {
	pn := &f.Panels[i]
	p := plot.New()
	p.BackgroundColor = color.White
	ylabel := f.YLabel
	if pn.YLabel != "" {
		ylabel = pn.YLabel
	}
	title := ylabel + " " + axisTitle(pn.Axis)
	p.Title.Text = string(unicode.ToUpper(rune(title[0]))) + title[1:]
	p.Title.TextStyle = textStyle(bold, titleSize)
	p.Title.TextStyle.XAlign, p.Title.TextStyle.YAlign = draw.XCenter, draw.YTop
	p.Title.Padding = vg.Points(6)

	xlabel, div := pn.axisUnit()
	loc := f.Location
	if loc == nil {
		loc = time.Local
	}
	if pn.Axis == series.AxisTime {
		xlabel = "time (" + zoneName(loc) + ")"
	}
	if f.LogY {
		ylabel += " (log scale)"
	}
	for _, a := range []struct {
		axis  *plot.Axis
		label string
		tick  *ticker
	}{
		{&p.X, xlabel, &ticker{length: w - 60, style: textStyle(sansFont, tickSize)}},
		{&p.Y, ylabel, &ticker{length: h - 70, vertical: true, style: textStyle(sansFont, tickSize), log: f.LogY}},
	} {
		a.axis.Label.Text = a.label
		a.axis.Label.TextStyle = textStyle(sansFont, labelSize)
		a.axis.Label.TextStyle.XAlign = draw.XCenter
		a.axis.Label.Padding = vg.Points(4)
		a.axis.Tick.Label = textStyle(sansFont, tickSize)
		a.axis.Tick.Label.XAlign, a.axis.Tick.Label.YAlign = draw.XCenter, draw.YTop
		a.axis.Tick.Marker = a.tick
		a.axis.Tick.Color, a.axis.Color = axisColor, axisColor
		a.axis.Tick.Length = vg.Points(4)
		a.axis.Width, a.axis.Tick.Width = vg.Points(0.7), vg.Points(0.7)
	}
	p.Y.Tick.Label.XAlign, p.Y.Tick.Label.YAlign = draw.XRight, draw.YCenter
	p.Y.Label.Padding = vg.Points(6)
	if pn.Axis == series.AxisTime {
		p.X.Tick.Marker.(*ticker).date = loc
	}
	if f.LogY {
		p.Y.Scale = plot.LogScale{}
	}

	xmin, xmax, ymin, ymax := pn.ranges(f.LogY)
	if xmin > xmax {
		p.X.Min, p.X.Max, p.Y.Min, p.Y.Max = 0, 1, 0, 1
		if f.LogY {
			p.Y.Min, p.Y.Max = 1, 10
		}
		p.Y.Scale = plot.LinearScale{}
		p.Add(message{"no data"})
		return p
	}
	// Steps and times count from 0: start the axis there when the data
	// starts near it.
	if xmin > 0 && xmin <= 0.05*(xmax-xmin) && pn.Axis != series.AxisTime {
		xmin = 0
	}
	if f.YFromZero && !f.LogY && ymin > 0 && ymin <= 0.2*(ymax-ymin) {
		ymin = 0
	}
	// Tiny values (learning rates) read better as multiples of a power
	// of ten named in the axis label than as 0.00025 or 2.5e-4.
	ydiv := 1.0
	if m := math.Max(math.Abs(ymin), math.Abs(ymax)); !f.LogY && m > 0 && m < 1e-2 {
		exp := math.Floor(math.Log10(m))
		ydiv = math.Pow(10, exp)
		p.Y.Label.Text = fmt.Sprintf("%s (×1e%d)", p.Y.Label.Text, int(exp))
	}
	p.X.Min, p.X.Max = xmin/div, xmax/div
	p.Y.Min, p.Y.Max = ymin/ydiv, ymax/ydiv
	if p.X.Min == p.X.Max {
		p.X.Min, p.X.Max = p.X.Min-1, p.X.Max+1
	}
	if p.Y.Min == p.Y.Max {
		pad := math.Max(math.Abs(p.Y.Min)*0.05, 1e-9)
		if f.LogY {
			p.Y.Min, p.Y.Max = p.Y.Min/1.1, p.Y.Max*1.1
		} else {
			p.Y.Min, p.Y.Max = p.Y.Min-pad, p.Y.Max+pad
		}
	}
	grid := plotter.NewGrid()
	grid.Vertical = draw.LineStyle{Color: gridColor, Width: vg.Points(0.5)}
	grid.Horizontal = grid.Vertical
	p.Add(grid)

	// Faint raw curves first, then the dense lines, then the sparse ones
	// with markers (validation losses), so that no curve hides another's
	// few points.
	var lines, sparseLines []plot.Plotter
	marks := &divergence{}
	resumed := &resumes{}
	for j := range pn.Curves {
		c := &pn.Curves[j]
		if c.Lo != nil {
			col := f.curveStyle(c).line.Color.(color.RGBA)
			p.Add(&bandFill{x: scaled(c.Raw.X, div), lo: scaled(c.Lo, ydiv), hi: scaled(c.Hi, ydiv), color: faded(col, bandAlpha), logY: f.LogY})
		}
	}
	for j := range pn.Curves {
		c := &pn.Curves[j]
		s := f.curveStyle(c)
		if c.Smoothed.Len() > 0 {
			faint := s.line
			faint.Color, faint.Width = faded(s.line.Color.(color.RGBA), rawAlpha), rawLineWidth
			p.Add(&polyline{x: scaled(c.Raw.X, div), y: scaled(c.Raw.Y, ydiv), line: faint, logY: f.LogY})
			lines = append(lines, &polyline{x: scaled(c.Smoothed.X, div), y: scaled(c.Smoothed.Y, ydiv), line: s.line, logY: f.LogY})
		} else if s.marker != nil {
			sparseLines = append(sparseLines, &polyline{x: scaled(c.Raw.X, div), y: scaled(c.Raw.Y, ydiv), line: s.line, marker: s.marker, logY: f.LogY})
		} else {
			lines = append(lines, &polyline{x: scaled(c.Raw.X, div), y: scaled(c.Raw.Y, ydiv), line: s.line, logY: f.LogY})
		}
		if c.Diverged != nil {
			marks.x = append(marks.x, c.Diverged.X/div)
			marks.color = append(marks.color, s.line.Color)
		}
		for _, x := range c.Resumes {
			if !slices.Contains(resumed.x, x/div) {
				resumed.x = append(resumed.x, x/div)
			}
		}
	}
	if len(resumed.x) > 0 {
		p.Add(resumed)
	}
	p.Add(lines...)
	p.Add(sparseLines...)
	if len(marks.x) > 0 {
		p.Add(marks)
	}
	return p
}

// ranges returns the extent of a panel's drawable points.
func (pn *Panel) ranges(logY bool) (xmin, xmax, ymin, ymax float64) {
	xmin, ymin = math.Inf(1), math.Inf(1)
	xmax, ymax = math.Inf(-1), math.Inf(-1)
	for _, c := range pn.Curves {
		for _, l := range []Line{c.Raw, c.Smoothed, {X: c.Raw.X, Y: c.Lo}, {X: c.Raw.X, Y: c.Hi}} {
			for i, y := range l.Y {
				if !drawable(y, logY) {
					continue
				}
				xmin, xmax = math.Min(xmin, l.X[i]), math.Max(xmax, l.X[i])
				ymin, ymax = math.Min(ymin, y), math.Max(ymax, y)
			}
		}
	}
	return
}

func scaled(xs []float64, div float64) []float64 {
	if div == 1 {
		return xs
	}
	out := make([]float64, len(xs))
	for i, x := range xs {
		out[i] = x / div
	}
	return out
}

func zoneName(loc *time.Location) string {
	name, _ := time.Now().In(loc).Zone()
	if name == "" || strings.HasPrefix(name, "+") || strings.HasPrefix(name, "-") {
		return loc.String()
	}
	return name
}

// legend builds the figure's legend: the keys' styles with one run, the
// runs' colours (and the keys' dashes) with several. A curve that became
// NaN or infinite says so; smoothing is named.
func (f *Figure) legend() plot.Legend {
	l := plot.NewLegend()
	l.TextStyle = textStyle(sansFont, legendSize)
	l.Top, l.Left = true, true
	l.ThumbnailWidth = vg.Points(22)
	l.Padding = vg.Points(3)
	diverged := map[[2]int]*Divergence{} // by run and key
	sparseKey := map[int]bool{}
	for _, pn := range f.Panels {
		for _, c := range pn.Curves {
			k := slices.Index(f.Keys, c.Key)
			if c.Diverged != nil && diverged[[2]int{c.Run, k}] == nil {
				diverged[[2]int{c.Run, k}] = c.Diverged
			}
			if c.Points <= sparse && c.Smoothed.Len() == 0 {
				sparseKey[k] = true
			}
		}
	}
	note := func(d *Divergence) string {
		return fmt.Sprintf(" (%s at step %d)", valueName(d.Value), d.Step)
	}
	if len(f.Runs) <= 1 {
		for k, key := range f.Keys {
			s := f.curveStyle(&Curve{Key: key, Points: sparse + 1})
			if sparseKey[k] {
				s = f.curveStyle(&Curve{Key: key})
			}
			text := key
			if d := diverged[[2]int{0, k}]; d != nil {
				text += note(d)
			}
			l.Add(text, &polyline{line: s.line, marker: s.marker})
		}
	} else {
		for r, name := range f.Runs {
			text := truncate(name, maxLegendName)
			for k := range f.Keys {
				if d := diverged[[2]int{r, k}]; d != nil {
					text += note(d)
					break
				}
			}
			l.Add(text, &polyline{line: draw.LineStyle{Color: paletteColor(r), Width: lineWidth * 1.5, Dashes: dashes(r)}})
		}
		for k, key := range f.Keys {
			if len(f.Keys) == 1 {
				break
			}
			line := draw.LineStyle{Color: neutralKey, Width: lineWidth, Dashes: keyDashes(k)}
			var m *draw.GlyphStyle
			if sparseKey[k] {
				m = &draw.GlyphStyle{Color: neutralKey, Radius: markerRadius, Shape: markerShape(k)}
			}
			l.Add(key, &polyline{line: line, marker: m})
		}
	}
	if len(f.Runs) > len(Palette) {
		unit := f.Unit
		if unit == "" {
			unit = "runs"
		}
		l.Add(fmt.Sprintf("%d %s, %d colours: from the %dth, dotted", len(f.Runs), unit, len(Palette), len(Palette)+1),
			&polyline{line: draw.LineStyle{Color: neutralKey, Width: lineWidth, Dashes: dashes(len(Palette))}})
	}
	if f.Smooth > 0 && f.smoothed() {
		faint := draw.LineStyle{Color: faded(neutralKey, rawAlpha*1.5), Width: rawLineWidth * 1.5}
		l.Add(fmt.Sprintf("raw (lines: EMA %g)", f.Smooth), &polyline{line: faint})
	}
	return l
}

// smoothed reports whether a curve of the figure is drawn smoothed.
func (f *Figure) smoothed() bool {
	for _, pn := range f.Panels {
		for _, c := range pn.Curves {
			if c.Smoothed.Len() > 0 {
				return true
			}
		}
	}
	return false
}

func valueName(v float64) string {
	switch {
	case math.IsInf(v, 1):
		return "+Inf"
	case math.IsInf(v, -1):
		return "-Inf"
	}
	return "NaN"
}
