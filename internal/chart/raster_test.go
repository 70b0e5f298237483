package chart

import (
	"image"
	"image/color"
	stddraw "image/draw"
	"math"
	"testing"

	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

func TestDash(t *testing.T) {
	line := [][2]float32{{0, 0}, {6, 0}, {6, 4}} // 10 long, turning a corner
	pieces := dash(line, []float32{2, 1})
	var on float32
	for _, p := range pieces {
		for i := 1; i < len(p); i++ {
			dx, dy := p[i][0]-p[i-1][0], p[i][1]-p[i-1][1]
			on += float32(math.Sqrt(float64(dx*dx + dy*dy)))
		}
	}
	// on 0–2, 3–5, 6–8 (round the corner), 9–10
	if len(pieces) != 4 || math.Abs(float64(on-7)) > 1e-4 {
		t.Errorf("dash: %d pieces, %v drawn; want 4 pieces, 7 drawn: %v", len(pieces), on, pieces)
	}
	if got := dash(line, nil); len(got) != 1 || len(got[0]) != 3 {
		t.Errorf("no pattern: %v, want the line itself", got)
	}
}

func TestStrokeRaster(t *testing.T) {
	img := image.NewRGBA(image.Rect(0, 0, 100, 100))
	stddraw.Draw(img, img.Bounds(), image.White, image.Point{}, stddraw.Src)
	blue := color.RGBA{0, 0, 255, 255}
	// At 72 dpi a point is a pixel; y counts up from the bottom.
	parts := [][]vg.Point{{{X: 10, Y: 50}, {X: 90, Y: 50}, {X: 90, Y: 10}}}
	strokeRaster(img, 72, parts, draw.LineStyle{Color: blue, Width: 2})
	for _, tt := range []struct {
		x, y int
		ink  bool
	}{
		{50, 49, true}, {50, 50, true}, // on the horizontal stretch
		{89, 70, true},  // on the vertical one
		{90, 50, true},  // the corner is covered
		{50, 45, false}, // off the line
		{5, 50, false},  // before its start
		{95, 95, false}, // elsewhere
		{89, 92, false}, // past its end
	} {
		c := img.RGBAAt(tt.x, tt.y)
		if ink := c.B > 200 && c.R < 100; ink != tt.ink {
			t.Errorf("pixel (%d,%d) = %v, want ink %v", tt.x, tt.y, c, tt.ink)
		}
	}
}

func TestCellsLine(t *testing.T) {
	c := newCells(2, 1) // 4×4 dots
	c.line(0, 0, 3, 3, 0)
	want := []uint8{0x01 | 0x10, 0x04 | 0x80} // (0,0),(1,1) | (2,2),(3,3)
	for i, d := range c.dots {
		if d != want[i] {
			t.Errorf("cell %d = %#x, want %#x", i, d, want[i])
		}
	}
	c.set(10, 10, 0) // outside: ignored
}
