package chart

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/runlog/runlog/internal/series"
	"github.com/runlog/runlog/internal/store"
)

// This file draws charts for terminals: each character cell holds 2×4
// braille dots, so a 40×8 chart has 80×32 points of resolution. A cell
// takes the colour of the last curve drawn through it, so the lines of
// sparse curves (validation losses) are drawn first, under the dense ones,
// and a marker on top at each of their points keeps them visible and
// tells them apart without colour too.

// TermOptions say how Terminal draws.
type TermOptions struct {
	Width  int  // columns available; 0 means 80
	Height int  // rows of each chart's plotting area; 0 means 8
	Color  bool // ANSI colours (leave off when NO_COLOR is set)
	// Keys are the series to draw; nil means the runs' losses (LossKeys).
	Keys []string
	// Axes are the charts' x-axes; nil means step and wallclock.
	Axes []series.Axis
	// Location is the zone of date axes; nil means time.Local.
	Location *time.Location
}

// sideBySide is the narrowest terminal that shows two charts side by side.
const sideBySide = 120

// Terminal draws the curves of runs as braille charts, one per axis:
// side by side when the terminal is wide enough, else one above the
// other, with a legend below. It returns ErrNoData when there is nothing
// to draw.
func Terminal(ctx context.Context, st store.Store, runs []store.Run, opt TermOptions) (string, error) {
	if opt.Width <= 0 {
		opt.Width = 80
	}
	if opt.Height <= 0 {
		opt.Height = 8
	}
	axes := opt.Axes
	if len(axes) == 0 {
		axes = []series.Axis{series.AxisStep, series.AxisWallclock}
	}
	keys := opt.Keys
	if len(keys) == 0 {
		var err error
		if keys, err = LossKeys(ctx, st, runs); err != nil {
			return "", err
		}
	}
	if len(keys) == 0 {
		return "", ErrNoData
	}
	cols := opt.Width
	perRow := 1
	if len(axes) > 1 && opt.Width >= sideBySide {
		perRow = 2
		cols = (opt.Width - 3) / 2
	}
	curves, err := Load(ctx, st, runs, Request{Keys: keys, Axes: axes, Buckets: max(10, 2*(cols-10))})
	if err != nil {
		return "", err
	}
	if len(curves) == 0 {
		return "", ErrNoData
	}
	fig := &Figure{YLabel: yLabel(keys), Location: opt.Location, Runs: runLabels(runs)}
	for _, k := range keys {
		if slices.ContainsFunc(curves, func(c Curve) bool { return c.Key == k }) {
			fig.Keys = append(fig.Keys, k)
		}
	}
	var charts [][]string
	for _, a := range axes {
		tc := termChart{fig: fig, panel: Panel{Axis: a}, width: cols, height: opt.Height, color: opt.Color}
		for _, c := range curves {
			if c.Axis == a {
				tc.panel.Curves = append(tc.panel.Curves, c)
			}
		}
		charts = append(charts, tc.render())
	}
	var b strings.Builder
	for i := 0; i < len(charts); i += perRow {
		row := charts[i:min(i+perRow, len(charts))]
		n := 0
		for _, ch := range row {
			n = max(n, len(ch))
		}
		for j := range n {
			var line strings.Builder
			for k, ch := range row {
				if k > 0 {
					line.WriteString("   ")
				}
				if j < len(ch) {
					line.WriteString(ch[j])
				} else {
					line.WriteString(strings.Repeat(" ", cols))
				}
			}
			b.WriteString(strings.TrimRight(line.String(), " "))
			b.WriteString("\n")
		}
	}
	b.WriteString(termLegend(fig, curves, opt.Color, opt.Width))
	return b.String(), nil
}

// termChart is one terminal chart.
type termChart struct {
	fig    *Figure
	panel  Panel
	width  int // columns of the whole chart
	height int // rows of its plotting area
	color  bool
}

// render returns the chart's lines, each width columns wide.
func (t *termChart) render() []string {
	pn := &t.panel
	xlabel, div := pn.axisUnit()
	loc := t.fig.Location
	if loc == nil {
		loc = time.Local
	}
	if pn.Axis == series.AxisTime {
		xlabel = "time (" + zoneName(loc) + ")"
	}
	title := t.fig.YLabel + " " + axisTitle(pn.Axis)
	xmin, xmax, ymin, ymax := pn.ranges(false)
	if xmin > xmax {
		return []string{pad(title, t.width), pad("  no data", t.width)}
	}
	if xmin > 0 && xmin <= 0.05*(xmax-xmin) && pn.Axis != series.AxisTime {
		xmin = 0
	}
	xmin, xmax = xmin/div, xmax/div
	if xmax == xmin {
		xmin, xmax = xmin-1, xmax+1
	}
	if ymax == ymin {
		ymin, ymax = ymin-math.Max(math.Abs(ymin)*0.05, 1e-9), ymax+math.Max(math.Abs(ymax)*0.05, 1e-9)
	}

	// y labels: nice values, at most one every other row.
	h := t.height
	ystep := niceStep((ymax - ymin) / float64(max(1, h/2)))
	for len(linearTicks(ymin, ymax, ystep)) > (h+1)/2 {
		ystep = nextStep(ystep)
	}
	yrow := map[int]string{}
	labelW := 0
	for _, v := range linearTicks(ymin, ymax, ystep) {
		row := int(math.Round((ymax-v)/(ymax-ymin)*float64(4*h-1))) / 4
		yrow[row] = formatTick(v, ystep)
		labelW = max(labelW, len(yrow[row]))
	}
	w := max(4, t.width-labelW-2)
	c := newCells(w, h)
	dx := func(x float64) int { return int(math.Round((x/div - xmin) / (xmax - xmin) * float64(2*w-1))) }
	dy := func(y float64) int { return int(math.Round((ymax - y) / (ymax - ymin) * float64(4*h-1))) }

	// The lines of sparse curves first, then dense curves over them (a
	// cell shows one colour: the dense curve keeps its own), then the
	// sparse curves' markers and the marks of divergence on top.
	for pass := range 3 {
		for _, cv := range pn.Curves {
			sparse := t.fig.curveStyle(&cv).marker != nil
			l, col := cv.Raw, t.curveColor(&cv)
			if cv.Smoothed.Len() > 0 {
				l = cv.Smoothed
			}
			switch {
			case pass < 2 && sparse == (pass == 0):
				t.plotLine(c, l, col, dx, dy)
			case pass == 2 && sparse:
				for i, x := range l.X {
					if drawable(l.Y[i], false) {
						c.mark(dx(x), dy(l.Y[i]), col, '●')
					}
				}
			}
			if d := cv.Diverged; d != nil && pass == 2 {
				c.mark(dx(d.X), 0, col, '✗')
			}
			if pass == 2 {
				for _, x := range cv.Resumes { // the line breaks there
					c.mark(dx(x), 4*h-1, col, '┆')
				}
			}
		}
	}

	lines := []string{pad(title, t.width)}
	for row := range h {
		var b strings.Builder
		lab, ok := yrow[row]
		axis := '│'
		if ok {
			axis = '┤'
		}
		fmt.Fprintf(&b, "%*s %c", labelW, lab, axis)
		t.writeCells(&b, c, row)
		lines = append(lines, b.String())
	}
	lines = append(lines, t.xAxis(labelW, w, xmin, xmax, pn.Axis == series.AxisTime, loc)...)
	lines = append(lines, pad(strings.Repeat(" ", labelW+2+max(0, (w-len(xlabel))/2))+xlabel, t.width))
	return lines
}

// plotLine draws l's points joined by lines, leaving gaps at values that
// cannot be drawn.
func (t *termChart) plotLine(c *cells, l Line, col int, dx, dy func(float64) int) {
	px, py, have := 0, 0, false
	for i, x := range l.X {
		if !drawable(l.Y[i], false) {
			have = false
			continue
		}
		x1, y1 := dx(x), dy(l.Y[i])
		if have {
			c.line(px, py, x1, y1, col)
		} else {
			c.set(x1, y1, col)
		}
		px, py, have = x1, y1, true
	}
}

// curveColor returns the palette index of a curve: by run with several
// runs, else by key.
func (t *termChart) curveColor(c *Curve) int {
	if len(t.fig.Runs) > 1 {
		return c.Run % len(TermPalette)
	}
	return max(0, slices.Index(t.fig.Keys, c.Key)) % len(TermPalette)
}

// writeCells writes a row of cells, changing colour only where it changes.
func (t *termChart) writeCells(b *strings.Builder, c *cells, row int) {
	cur := -1
	for x := range c.w {
		i := row*c.w + x
		r := ' '
		switch {
		case c.marker[i] != 0:
			r = c.marker[i]
		case c.dots[i] != 0:
			r = rune(0x2800 + int(c.dots[i]))
		}
		if t.color {
			col := c.color[i]
			if r == ' ' {
				col = -1
			}
			if col != cur {
				if cur >= 0 {
					b.WriteString("\x1b[0m")
				}
				if col >= 0 && TermPalette[col] >= 0 {
					fmt.Fprintf(b, "\x1b[38;5;%dm", TermPalette[col])
				}
				cur = col
			}
		}
		b.WriteRune(r)
	}
	if t.color && cur >= 0 {
		b.WriteString("\x1b[0m")
	}
}

// xAxis returns the x-axis line and its labels, spaced so that labels
// keep three columns between them.
func (t *termChart) xAxis(labelW, w int, xmin, xmax float64, date bool, loc *time.Location) []string {
	var vals []float64
	var labels []string
	raw := (xmax - xmin) / float64(max(1, w/10))
	step := niceStep(raw)
	for i := 0; i < 40; i++ {
		vals, labels = vals[:0], labels[:0]
		if date {
			ds := dateSteps[min(i, len(dateSteps)-1)]
			if ds < raw && i < len(dateSteps)-1 {
				continue
			}
			for _, tk := range (&ticker{date: loc}).dateTicksStep(xmin, xmax, ds) {
				vals, labels = append(vals, tk.Value), append(labels, tk.Label)
			}
		} else {
			for _, v := range linearTicks(xmin, xmax, step) {
				vals, labels = append(vals, v), append(labels, formatTick(v, step))
			}
			step = nextStep(step)
		}
		if fitsColumns(vals, labels, xmin, xmax, w) {
			break
		}
	}
	axis := []rune(strings.Repeat(" ", labelW+1) + "└" + strings.Repeat("─", w))
	text := []rune(strings.Repeat(" ", labelW+2+w))
	for i, v := range vals {
		col := xColumn(v, xmin, xmax, w)
		axis[labelW+2+col] = '┬'
		copy(text[labelW+2+labelStart(col, labels[i], w):], []rune(labels[i]))
	}
	return []string{pad(string(axis), t.width), pad(strings.TrimRight(string(text), " "), t.width)}
}

// xColumn returns the column of x on an axis w columns wide.
func xColumn(x, xmin, xmax float64, w int) int {
	return int(math.Round((x - xmin) / (xmax - xmin) * float64(w-1)))
}

// labelStart returns the column a tick label at col starts at: centred
// under its tick, but inside the axis.
func labelStart(col int, label string, w int) int {
	n := utf8.RuneCountInString(label)
	return max(0, min(col-n/2, w-n))
}

// fitsColumns reports whether tick labels at vals keep three columns apart
// on an axis w columns wide.
func fitsColumns(vals []float64, labels []string, xmin, xmax float64, w int) bool {
	prevEnd := -10
	for i, v := range vals {
		start := labelStart(xColumn(v, xmin, xmax, w), labels[i], w)
		if start < prevEnd+3 {
			return false
		}
		prevEnd = start + utf8.RuneCountInString(labels[i])
	}
	return true
}

// termLegend returns the legend line(s) of terminal charts.
func termLegend(fig *Figure, curves []Curve, color bool, width int) string {
	paint := func(s string, col int) string {
		if !color || TermPalette[col] < 0 {
			return s
		}
		return fmt.Sprintf("\x1b[38;5;%dm%s\x1b[0m", TermPalette[col], s)
	}
	diverged := map[[2]int]*Divergence{}
	sparseKey := map[int]bool{}
	for _, c := range curves {
		k := slices.Index(fig.Keys, c.Key)
		if c.Diverged != nil && diverged[[2]int{c.Run, k}] == nil {
			diverged[[2]int{c.Run, k}] = c.Diverged
		}
		if c.Points <= sparse {
			sparseKey[k] = true
		}
	}
	sym := func(k int) string {
		if sparseKey[k] {
			return "●"
		}
		return "⣀⣀"
	}
	var items []string
	if len(fig.Runs) <= 1 {
		for k, key := range fig.Keys {
			s := paint(sym(k), k%len(TermPalette)) + " " + key
			if d := diverged[[2]int{0, k}]; d != nil {
				s += fmt.Sprintf(" (✗ %s at step %d)", valueName(d.Value), d.Step)
			}
			items = append(items, s)
		}
	} else {
		for r, name := range fig.Runs {
			s := paint("⣀⣀", r%len(TermPalette)) + " " + truncate(name, maxLegendName)
			for k := range fig.Keys {
				if d := diverged[[2]int{r, k}]; d != nil {
					s += fmt.Sprintf(" (✗ %s at step %d)", valueName(d.Value), d.Step)
					break
				}
			}
			items = append(items, s)
		}
		if len(fig.Keys) > 1 {
			var ks []string
			for k, key := range fig.Keys {
				ks = append(ks, sym(k)+" "+key)
			}
			items = append(items, "("+strings.Join(ks, ", ")+")")
		}
	}
	// Wrap at the width, by visible length.
	var b strings.Builder
	lineLen := 0
	for _, it := range items {
		n := visibleLen(it)
		if lineLen > 0 && lineLen+3+n > width {
			b.WriteString("\n")
			lineLen = 0
		}
		if lineLen > 0 {
			b.WriteString("   ")
			lineLen += 3
		}
		b.WriteString(it)
		lineLen += n
	}
	b.WriteString("\n")
	return b.String()
}
