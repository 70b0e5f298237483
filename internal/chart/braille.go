package chart

import (
	"strings"
	"unicode/utf8"
)

// This file holds the grid of braille cells terminal charts are drawn on,
// and the measures of text in columns.

// cells is a grid of braille cells.
type cells struct {
	w, h   int
	dots   []uint8 // braille dot bits, by cell
	color  []int   // curve colour index by cell; -1 none
	marker []rune  // a marker that replaces the cell's dots
}

func newCells(w, h int) *cells {
	c := &cells{w: w, h: h, dots: make([]uint8, w*h), color: make([]int, w*h), marker: make([]rune, w*h)}
	for i := range c.color {
		c.color[i] = -1
	}
	return c
}

// brailleBit[y][x] is the bit of dot (x, y) of a cell.
var brailleBit = [4][2]uint8{{0x01, 0x08}, {0x02, 0x10}, {0x04, 0x20}, {0x40, 0x80}}

// set lights dot (x, y), in dots from the top left.
func (c *cells) set(x, y, color int) {
	if x < 0 || y < 0 || x >= 2*c.w || y >= 4*c.h {
		return
	}
	i := y/4*c.w + x/2
	c.dots[i] |= brailleBit[y%4][x%2]
	c.color[i] = color
}

// line lights the dots from (x0, y0) to (x1, y1).
func (c *cells) line(x0, y0, x1, y1, color int) {
	dx, dy := abs(x1-x0), -abs(y1-y0)
	sx, sy := sign(x1-x0), sign(y1-y0)
	e := dx + dy
	for {
		c.set(x0, y0, color)
		if x0 == x1 && y0 == y1 {
			return
		}
		e2 := 2 * e
		if e2 >= dy {
			e += dy
			x0 += sx
		}
		if e2 <= dx {
			e += dx
			y0 += sy
		}
	}
}

func (c *cells) mark(x, y, color int, r rune) {
	if x < 0 || y < 0 || x >= 2*c.w || y >= 4*c.h {
		return
	}
	i := y/4*c.w + x/2
	c.marker[i], c.color[i] = r, color
}

func abs(x int) int { return max(x, -x) }

func sign(x int) int {
	switch {
	case x > 0:
		return 1
	case x < 0:
		return -1
	}
	return 0
}

// pad pads s with spaces to n columns.
func pad(s string, n int) string {
	if k := utf8.RuneCountInString(s); k < n {
		return s + strings.Repeat(" ", n-k)
	}
	return s
}

// visibleLen returns the columns s takes, ANSI colour codes left out.
func visibleLen(s string) int {
	n, esc := 0, false
	for _, r := range s {
		switch {
		case r == '\x1b':
			esc = true
		case esc:
			esc = r != 'm'
		default:
			n++
		}
	}
	return n
}
