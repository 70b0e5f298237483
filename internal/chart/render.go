package chart

import (
	"fmt"
	"image"
	stddraw "image/draw"
	"image/png"
	"io"
	"math"
	"path/filepath"
	"strings"
	"sync"

	"github.com/runlog/runlog/internal/atomicfile"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
	"gonum.org/v1/plot/vg/vgpdf"
	"gonum.org/v1/plot/vg/vgsvg"
)

// Formats of chart files.
const (
	PNG = "png"
	SVG = "svg"
	PDF = "pdf"
)

// FormatOf returns the format a file name's extension asks for.
func FormatOf(path string) (string, error) {
	ext := strings.ToLower(strings.TrimPrefix(filepath.Ext(path), "."))
	switch ext {
	case PNG, SVG, PDF:
		return ext, nil
	}
	return "", fmt.Errorf("cannot tell the format of %q: name a .png, .svg or .pdf file", path)
}

// frame is where a figure's parts go, in pixels from the top left.
type frame struct {
	w, h   int
	title  int // height of the title strip
	legend image.Rectangle
	panels []image.Rectangle
}

func (f *Figure) frame() frame {
	w, h := f.size()
	l := frame{w: w, h: h}
	if f.Title != "" {
		l.title = px(titleSize * 2)
	}
	leg := f.legend()
	lw := px(leg.Rectangle(draw.Canvas{}).Size().X + vg.Points(14))
	lw = min(lw, w/3)
	l.legend = image.Rect(w-lw, l.title+px(titleSize*2.2), w, h)
	cols, rows := f.grid()
	top := l.title + px(vg.Points(6))
	for i := range f.Panels {
		c, r := i%cols, i/cols
		l.panels = append(l.panels, image.Rect(c*(w-lw)/cols, top+r*(h-top)/rows, (c+1)*(w-lw)/cols, top+(r+1)*(h-top)/rows))
	}
	return l
}

// px converts points to whole pixels.
func px(l vg.Length) int { return int(math.Ceil(l.Dots(dpi))) }

// rect returns r, in pixels from the top left of a figure h pixels high,
// as a canvas rectangle in points from the bottom left.
func rect(r image.Rectangle, h int) vg.Rectangle {
	return vg.Rectangle{
		Min: vg.Point{X: pt(r.Min.X), Y: pt(h - r.Max.Y)},
		Max: vg.Point{X: pt(r.Max.X), Y: pt(h - r.Min.Y)},
	}
}

// Write draws the figure to w in format (PNG, SVG or PDF).
func (f *Figure) Write(w io.Writer, format string) error {
	l := f.frame()
	wpt, hpt := pt(l.w), pt(l.h)
	switch format {
	case PNG:
		return png.Encode(w, f.image(l))
	case SVG:
		c := vgsvg.New(wpt, hpt)
		f.drawVector(c, l, format)
		_, err := c.WriteTo(w)
		return err
	case PDF:
		c := vgpdf.New(wpt, hpt)
		f.drawVector(c, l, format)
		_, err := c.WriteTo(w)
		return err
	}
	return fmt.Errorf("unknown chart format %q: use png, svg or pdf", format)
}

// Image draws the figure as pixels, as a PNG file holds it.
func (f *Figure) Image() *image.RGBA { return f.image(f.frame()) }

// image draws the figure as pixels. Panels are drawn at once, each on
// its own canvas: drawing is what takes time.
func (f *Figure) image(l frame) *image.RGBA {
	c := vgimg.NewWith(vgimg.UseWH(pt(l.w), pt(l.h)), vgimg.UseDPI(dpi))
	panels := make([]image.Image, len(f.Panels))
	var wg sync.WaitGroup
	for i, r := range l.panels {
		wg.Add(1)
		go func() {
			defer wg.Done()
			pc := vgimg.NewWith(vgimg.UseWH(pt(r.Dx()), pt(r.Dy())), vgimg.UseDPI(dpi))
			dc := draw.New(pc)
			f.plot(i, dc.Size().X, dc.Size().Y, boldFont).Draw(dc)
			panels[i] = pc.Image()
		}()
	}
	f.drawFrame(draw.New(c), l, boldFont)
	wg.Wait()
	img := c.Image().(*image.RGBA)
	for i, r := range l.panels {
		stddraw.Draw(img, r, panels[i], image.Point{}, stddraw.Src)
	}
	return img
}

// drawVector draws the figure on a vector canvas, in format.
func (f *Figure) drawVector(c vg.CanvasSizer, l frame, format string) {
	dc := draw.New(c)
	dc.SetColor(image.White)
	dc.Fill(dc.Rectangle.Path())
	for i, r := range l.panels {
		pc := draw.Canvas{Canvas: c, Rectangle: rect(r, l.h)}
		f.plot(i, pc.Size().X, pc.Size().Y, boldFor(format)).Draw(pc)
	}
	f.drawFrame(dc, l, boldFor(format))
}

// drawFrame draws what is outside the panels: the title and the legend.
func (f *Figure) drawFrame(c draw.Canvas, l frame, bold font.Font) {
	if f.Title != "" {
		sty := textStyle(bold, titleSize*1.15)
		sty.XAlign, sty.YAlign = draw.XCenter, draw.YCenter
		c.FillText(sty, vg.Point{X: pt(l.w / 2), Y: pt(l.h - l.title/2)}, f.Title)
	}
	leg := f.legend()
	lc := draw.Canvas{Canvas: c.Canvas, Rectangle: rect(l.legend, l.h)}
	lc.Min.X += vg.Points(4)
	leg.Draw(lc)
}

// WriteFile writes the figure to path, in the format its extension names,
// through a temporary file so that no reader sees half a chart.
func (f *Figure) WriteFile(path string) error {
	format, err := FormatOf(path)
	if err != nil {
		return err
	}
	return atomicfile.Write(path, func(w io.Writer) error { return f.Write(w, format) })
}
