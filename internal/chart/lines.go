package chart

import (
	"image/color"
	"math"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// This file holds the gonum/plot plotters charts are drawn with. Unlike
// plotter.Line they take NaN, infinities and (on a log axis) values ≤ 0,
// and leave a gap there.

// polyline draws a curve as a line, with markers at its points when it is
// sparse.
type polyline struct {
	x, y   []float64 // x already in the axis's unit
	line   draw.LineStyle
	marker *draw.GlyphStyle
	logY   bool
}

// drawable reports whether a point can be placed on the chart.
func drawable(y float64, logY bool) bool {
	return !math.IsNaN(y) && !math.IsInf(y, 0) && (!logY || y > 0)
}

// Plot draws the curve into the data area c of p.
func (l *polyline) Plot(c draw.Canvas, p *plot.Plot) {
	tx, ty := p.Transforms(&c)
	var parts [][]vg.Point
	pts := make([]vg.Point, 0, len(l.x)) // never grows: parts share it
	start := 0
	flush := func() {
		if len(pts) > start {
			parts = append(parts, pts[start:len(pts):len(pts)])
		}
		start = len(pts)
	}
	for i, x := range l.x {
		if y := l.y[i]; drawable(y, l.logY) {
			pts = append(pts, vg.Point{X: tx(x), Y: ty(y)})
		} else {
			flush()
		}
	}
	flush()
	if l.line.Width > 0 {
		var clipped [][]vg.Point
		for _, part := range parts {
			if len(part) == 1 { // an isolated point between gaps: a dot
				if c.Contains(part[0]) {
					c.DrawGlyph(draw.GlyphStyle{Color: l.line.Color, Radius: l.line.Width, Shape: draw.CircleGlyph{}}, part[0])
				}
				continue
			}
			clipped = append(clipped, c.ClipLinesXY(part)...)
		}
		if img, res, ok := rasterCanvas(c.Canvas); ok {
			strokeRaster(img, res, clipped, l.line)
		} else {
			c.StrokeLines(l.line, clipped...)
		}
	}
	if l.marker != nil {
		for _, pt := range pts {
			if c.Contains(pt) {
				c.DrawGlyph(*l.marker, pt)
			}
		}
	}
}

// Thumbnail draws the curve's sample in a legend.
func (l *polyline) Thumbnail(c *draw.Canvas) {
	y := c.Center().Y
	c.StrokeLine2(l.line, c.Min.X, y, c.Max.X, y)
	if l.marker != nil {
		c.DrawGlyph(*l.marker, c.Center())
	}
}

// divergence marks where curves became NaN or infinite: a dotted vertical
// line in the curve's colour and a cross at the top of the chart.
type divergence struct {
	x     []float64
	color []color.Color
}

// Plot draws the marks.
func (d *divergence) Plot(c draw.Canvas, p *plot.Plot) {
	tx, _ := p.Transforms(&c)
	for i, x := range d.x {
		px := tx(x)
		if !c.ContainsX(px) {
			continue
		}
		line := draw.LineStyle{Color: d.color[i], Width: vg.Points(0.8), Dashes: []vg.Length{vg.Points(1), vg.Points(2)}}
		c.StrokeLine2(line, px, c.Min.Y, px, c.Max.Y)
		c.DrawGlyph(draw.GlyphStyle{Color: d.color[i], Radius: vg.Points(4), Shape: draw.CrossGlyph{}},
			vg.Point{X: px, Y: c.Max.Y - vg.Points(4)})
	}
}

// resumes marks where runs resumed on a time axis: a dashed grey vertical
// line, labelled, where the curves break.
type resumes struct{ x []float64 }

// Plot draws the marks.
func (r *resumes) Plot(c draw.Canvas, p *plot.Plot) {
	tx, _ := p.Transforms(&c)
	line := draw.LineStyle{Color: color.Gray{Y: 0x99}, Width: vg.Points(0.8), Dashes: []vg.Length{vg.Points(3), vg.Points(3)}}
	sty := textStyle(sansFont, tickSize)
	sty.Color = color.Gray{Y: 0x80}
	sty.XAlign, sty.YAlign = draw.XLeft, draw.YTop
	for _, x := range r.x {
		px := tx(x)
		if !c.ContainsX(px) {
			continue
		}
		c.StrokeLine2(line, px, c.Min.Y, px, c.Max.Y)
		c.FillText(sty, vg.Point{X: px + vg.Points(2), Y: c.Max.Y - vg.Points(2)}, "resumed")
	}
}

// message writes a line of text in the middle of a chart that has nothing
// to show.
type message struct{ text string }

// Plot draws the message.
func (m message) Plot(c draw.Canvas, _ *plot.Plot) {
	sty := textStyle(sansFont, labelSize)
	sty.Color = color.Gray{Y: 0x80}
	sty.XAlign, sty.YAlign = draw.XCenter, draw.YCenter
	c.FillText(sty, c.Center(), m.text)
}

// bandFill fills the area between a group's lower and upper edges, in
// stretches between the x where either is not drawable.
type bandFill struct {
	x, lo, hi []float64
	color     color.Color
	logY      bool
}

// Plot fills the band into the data area c of p.
func (b *bandFill) Plot(c draw.Canvas, p *plot.Plot) {
	tx, ty := p.Transforms(&c)
	flush := func(from, to int) {
		if to-from < 2 {
			return
		}
		var path vg.Path
		for i := from; i < to; i++ {
			pt := vg.Point{X: tx(b.x[i]), Y: ty(b.hi[i])}
			if i == from {
				path.Move(pt)
			} else {
				path.Line(pt)
			}
		}
		for i := to - 1; i >= from; i-- {
			path.Line(vg.Point{X: tx(b.x[i]), Y: ty(b.lo[i])})
		}
		path.Close()
		c.SetColor(b.color)
		c.Fill(path)
	}
	from := 0
	for i := range b.x {
		if !drawable(b.lo[i], b.logY) || !drawable(b.hi[i], b.logY) {
			flush(from, i)
			from = i + 1
		}
	}
	flush(from, len(b.x))
}
