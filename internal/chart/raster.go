package chart

import (
	"image"
	"image/color"
	stddraw "image/draw"
	"math"

	"golang.org/x/image/vector"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
)

// This file strokes curves straight into the pixels of PNG charts. gonum's
// image canvas strokes a path through gg and freetype's rasterizer, whose
// cost grows with the area the stroke sweeps: a downsampled noisy loss
// zigzags across the whole band of its noise in every pixel column, and ten
// such curves took 3–6 s to draw. golang.org/x/image/vector, the rasterizer
// of Go's font rendering, draws the same strokes (each segment a rectangle
// with square ends, so that joins are covered) some 50 times faster, with
// the same anti-aliasing. Vector formats (SVG, PDF) keep gonum's paths.

// rasterCanvas returns the image and resolution of c when it draws pixels
// with gonum's image canvas (under the draw.Canvas areas plot nests).
func rasterCanvas(c vg.Canvas) (*image.RGBA, float64, bool) {
	for {
		dc, ok := c.(draw.Canvas)
		if !ok {
			break
		}
		c = dc.Canvas
	}
	ic, ok := c.(*vgimg.Canvas)
	if !ok {
		return nil, 0, false
	}
	img, ok := ic.Image().(*image.RGBA)
	return img, ic.DPI(), ok
}

// strokeRaster draws parts (polylines in canvas points, already clipped to
// the data area) in style sty onto img.
func strokeRaster(img *image.RGBA, res float64, parts [][]vg.Point, sty draw.LineStyle) {
	if len(parts) == 0 || sty.Width <= 0 {
		return
	}
	h := float32(img.Bounds().Dy())
	hw := float32(sty.Width.Dots(res)) / 2
	// The rasterizer covers the curve's bounds plus the width of a stroke:
	// compositing costs a pass over every pixel of it.
	bounds := vg.Rectangle{Min: parts[0][0], Max: parts[0][0]}
	for _, part := range parts {
		for _, p := range part {
			bounds.Min.X, bounds.Max.X = min(bounds.Min.X, p.X), max(bounds.Max.X, p.X)
			bounds.Min.Y, bounds.Max.Y = min(bounds.Min.Y, p.Y), max(bounds.Max.Y, p.Y)
		}
	}
	m := int(math.Ceil(float64(hw))) + 1
	area := image.Rect(
		int(math.Floor(bounds.Min.X.Dots(res)))-m, int(math.Floor(float64(h)-bounds.Max.Y.Dots(res)))-m,
		int(math.Ceil(bounds.Max.X.Dots(res)))+m, int(math.Ceil(float64(h)-bounds.Min.Y.Dots(res)))+m,
	).Intersect(img.Bounds())
	if area.Empty() {
		return
	}
	ox, oy := float32(area.Min.X), float32(area.Min.Y)
	z := vector.NewRasterizer(area.Dx(), area.Dy())
	z.DrawOp = stddraw.Over
	var pattern []float32
	for _, d := range sty.Dashes {
		pattern = append(pattern, float32(d.Dots(res)))
	}
	for _, part := range parts {
		px := make([][2]float32, len(part))
		for i, p := range part {
			px[i] = [2]float32{float32(p.X.Dots(res)) - ox, h - float32(p.Y.Dots(res)) - oy}
		}
		for _, piece := range dash(px, pattern) {
			strokePolyline(z, piece, hw)
		}
	}
	r, g, b, a := sty.Color.RGBA()
	z.Draw(img, area, image.NewUniform(color.RGBA64{uint16(r), uint16(g), uint16(b), uint16(a)}), image.Point{})
}

// strokePolyline adds the outline of a stroke of half-width hw along pts
// to z: a rectangle per segment, extended by hw at both ends.
func strokePolyline(z *vector.Rasterizer, pts [][2]float32, hw float32) {
	if len(pts) == 1 {
		x, y := pts[0][0], pts[0][1]
		quad(z, x-hw, y-hw, x+hw, y-hw, x+hw, y+hw, x-hw, y+hw)
		return
	}
	for i := 1; i < len(pts); i++ {
		x0, y0, x1, y1 := pts[i-1][0], pts[i-1][1], pts[i][0], pts[i][1]
		dx, dy := x1-x0, y1-y0
		l := float32(math.Sqrt(float64(dx*dx + dy*dy)))
		if l < 1e-3 {
			quad(z, x0-hw, y0-hw, x0+hw, y0-hw, x0+hw, y0+hw, x0-hw, y0+hw)
			continue
		}
		ux, uy := dx/l*hw, dy/l*hw // along the segment
		nx, ny := -uy, ux          // across it
		ax, ay, bx, by := x0-ux, y0-uy, x1+ux, y1+uy
		quad(z, ax+nx, ay+ny, bx+nx, by+ny, bx-nx, by-ny, ax-nx, ay-ny)
	}
}

// quad adds a closed quadrilateral. Every quad strokePolyline adds winds the
// same way, so overlaps add up (and saturate) instead of cancelling.
func quad(z *vector.Rasterizer, x0, y0, x1, y1, x2, y2, x3, y3 float32) {
	z.MoveTo(x0, y0)
	z.LineTo(x1, y1)
	z.LineTo(x2, y2)
	z.LineTo(x3, y3)
	z.ClosePath()
}

// dash cuts a polyline into the pieces a dash pattern (lengths on, off,
// on, …) draws; with no pattern it is one piece.
func dash(pts [][2]float32, pattern []float32) [][][2]float32 {
	var total float32
	for _, d := range pattern {
		total += d
	}
	if len(pattern) == 0 || total <= 0 || len(pts) < 2 {
		return [][][2]float32{pts}
	}
	var out [][][2]float32
	k, left := 0, pattern[0] // the current dash and what remains of it
	on := true
	cur := [][2]float32{pts[0]}
	for i := 1; i < len(pts); i++ {
		a, b := pts[i-1], pts[i]
		dx, dy := b[0]-a[0], b[1]-a[1]
		seg := float32(math.Sqrt(float64(dx*dx + dy*dy)))
		pos := float32(0)
		for seg-pos > left {
			pos += left
			p := [2]float32{a[0] + dx*pos/seg, a[1] + dy*pos/seg}
			if on {
				out = append(out, append(cur, p))
			}
			cur = [][2]float32{p}
			on = !on
			k = (k + 1) % len(pattern)
			left = pattern[k]
		}
		left -= seg - pos
		if on {
			cur = append(cur, b)
		} else {
			cur = [][2]float32{b}
		}
	}
	if on && len(cur) > 1 {
		out = append(out, cur)
	}
	return out
}
