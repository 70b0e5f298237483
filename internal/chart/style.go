package chart

import (
	"image/color"
	"sync"

	xfont "golang.org/x/image/font"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/text"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// Palette holds the colours of curves, in the order they are given out:
// first Okabe and Ito's colour-blind-safe palette, reordered so that the
// most distinct colours on white come first and with its yellow darkened,
// then Paul Tol's muted palette for the ninth run on. (No sixteen colours
// are all told apart by everyone; past eight runs, the legend's order
// helps.) Curves beyond its length cycle through it again, dotted.
var Palette = []color.RGBA{
	{0x00, 0x72, 0xB2, 0xff}, // blue
	{0xD5, 0x5E, 0x00, 0xff}, // vermillion
	{0x00, 0x9E, 0x73, 0xff}, // bluish green
	{0xCC, 0x79, 0xA7, 0xff}, // reddish purple
	{0xE6, 0x9F, 0x00, 0xff}, // orange
	{0x56, 0xB4, 0xE9, 0xff}, // sky blue
	{0x00, 0x00, 0x00, 0xff}, // black
	{0xC9, 0xB8, 0x00, 0xff}, // yellow, darkened to be seen on white
	{0x33, 0x22, 0x88, 0xff}, // indigo
	{0x88, 0x22, 0x55, 0xff}, // wine
	{0x44, 0xAA, 0x99, 0xff}, // teal
	{0x99, 0x99, 0x33, 0xff}, // olive
	{0xCC, 0x66, 0x77, 0xff}, // rose
	{0x11, 0x77, 0x33, 0xff}, // green
	{0xAA, 0x44, 0x99, 0xff}, // purple
	{0x88, 0xCC, 0xEE, 0xff}, // cyan
}

// TermPalette holds the xterm-256 colour numbers closest to Palette, for
// terminal charts; -1 is the terminal's own text colour (Palette's black).
var TermPalette = []int{25, 166, 36, 175, 214, 74, -1, 178, 54, 89, 73, 101, 168, 29, 133, 117}

// paletteColor returns the colour of the i-th curve.
func paletteColor(i int) color.RGBA { return Palette[i%len(Palette)] }

// dashes returns the dash pattern of the i-th curve of a kind: solid for
// the first round of the palette, then dotted.
func dashes(i int) []vg.Length {
	if (i/len(Palette))%2 == 1 {
		return []vg.Length{vg.Points(1), vg.Points(1.5)}
	}
	return nil
}

// keyDashes returns the dash pattern of the k-th key of a chart of several
// runs, where colour tells runs apart and the pattern tells keys apart:
// the first key (train loss) solid, the second (validation loss) dashed.
func keyDashes(k int) []vg.Length {
	switch k % 4 {
	case 1:
		return []vg.Length{vg.Points(5), vg.Points(2.5)}
	case 2:
		return []vg.Length{vg.Points(8), vg.Points(3)}
	case 3:
		return []vg.Length{vg.Points(6), vg.Points(2), vg.Points(1.5), vg.Points(2)}
	}
	return nil
}

// faded returns c with alpha a, premultiplied as image/color expects.
func faded(c color.RGBA, a float64) color.NRGBA {
	return color.NRGBA{R: c.R, G: c.G, B: c.B, A: uint8(a * 255)}
}

// Sizes of a chart's parts, in points (1/72 inch). With the default DPI a
// 1600×600-pixel figure is 768×288 points: fonts read well on screen and
// in print.
const (
	dpi           = 150
	lineWidth     = vg.Length(1.3)
	rawLineWidth  = vg.Length(0.8)
	rawAlpha      = 0.28
	bandAlpha     = 0.2 // a group's band behind its mean
	markerRadius  = vg.Length(2.2)
	titleSize     = vg.Length(11)
	labelSize     = vg.Length(10)
	tickSize      = vg.Length(8.5)
	legendSize    = vg.Length(9)
	maxLegendName = 32 // runes of a run name in a legend
)

var (
	sansFont = font.Font{Typeface: "Liberation", Variant: "Sans"}
	boldFont = font.Font{Typeface: "Liberation", Variant: "Sans", Weight: xfont.WeightBold}
	// pdfBold is the bold face under a name of its own and normal weight:
	// gonum's PDF canvas registers fonts without their weight but looks
	// bold ones up with it, and fails.
	pdfBold    = font.Font{Typeface: "Liberation", Variant: "SansBold"}
	gridColor  = color.Gray{Y: 0xE4}
	axisColor  = color.Gray{Y: 0x40}
	textColor  = color.Gray{Y: 0x20}
	noteColor  = color.RGBA{0xB0, 0x00, 0x20, 0xff}
	neutralKey = color.RGBA{0x50, 0x50, 0x50, 0xff} // thumbnails of key styles
)

var addPDFBold sync.Once

// boldFor returns the bold font to draw titles with in format.
func boldFor(format string) font.Font {
	if format != PDF {
		return boldFont
	}
	addPDFBold.Do(func() {
		face := font.DefaultCache.Lookup(boldFont, 10)
		font.DefaultCache.Add(font.Collection{{Font: pdfBold, Face: face.Face}})
	})
	return pdfBold
}

// textStyle returns the style of text of size pt.
func textStyle(f font.Font, pt vg.Length) text.Style {
	return text.Style{
		Color:   textColor,
		Font:    font.From(f, pt),
		Handler: text.Plain{Fonts: font.DefaultCache},
		XAlign:  draw.XLeft,
		YAlign:  draw.YBottom,
	}
}
