package display

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// Text makes text a run logged safe to print on a terminal or into a
// file people read with one: every control character but newline and tab
// becomes a visible picture of itself (ESC is ␛, carriage return ␍, a C1
// control like U+009B is \u009b), and so do the invisible characters that
// reorder text (bidirectional overrides and isolates), so that no escape
// sequence moves the cursor, changes colours or the title, and what is
// shown is what was logged. Bytes that are not UTF-8 become U+FFFD.
func Text(s string) string {
	clean := true
	for _, r := range s {
		if r == utf8.RuneError || unsafeRune(r) {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 8)
	for _, r := range strings.ToValidUTF8(s, "\uFFFD") {
		switch {
		case !unsafeRune(r):
			b.WriteRune(r)
		case r < 0x20:
			b.WriteRune(0x2400 + r) // the Control Pictures block: ␀ … ␟
		case r == 0x7f:
			b.WriteRune('␡')
		default:
			b.WriteString(`\u`)
			const hex = "0123456789abcdef"
			for shift := 12; shift >= 0; shift -= 4 {
				b.WriteByte(hex[(r>>shift)&15])
			}
		}
	}
	return b.String()
}

// unsafeRune reports whether Text replaces r.
func unsafeRune(r rune) bool {
	switch {
	case r == '\n' || r == '\t':
		return false
	case r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0):
		return true
	case r >= 0x202a && r <= 0x202e, r >= 0x2066 && r <= 0x2069, r == 0x200e || r == 0x200f, r == 0x061c:
		return true // bidirectional formatting
	}
	return false
}

// Cols returns the terminal columns r takes: 0 for combining marks and
// zero-width characters, 2 for the wide characters of East Asian scripts
// and emoji, 1 for the rest.
func Cols(r rune) int {
	switch {
	case r == 0x200b || r == 0x200d || r == 0xfeff || unicode.Is(unicode.Mn, r) || unicode.Is(unicode.Me, r):
		return 0
	case r >= 0x1100 && (r <= 0x115f || r == 0x2329 || r == 0x232a ||
		(r >= 0x2e80 && r <= 0xa4cf && r != 0x303f) ||
		(r >= 0xac00 && r <= 0xd7a3) ||
		(r >= 0xf900 && r <= 0xfaff) ||
		(r >= 0xfe30 && r <= 0xfe4f) ||
		(r >= 0xff00 && r <= 0xff60) ||
		(r >= 0xffe0 && r <= 0xffe6) ||
		(r >= 0x1f300 && r <= 0x1f64f) ||
		(r >= 0x1f900 && r <= 0x1f9ff) ||
		(r >= 0x20000 && r <= 0x3fffd)):
		return 2
	}
	return 1
}

// Wrap breaks text into lines of at most width columns (Cols): at its
// newlines, then between words where it can, else inside a word. Tabs are
// expanded to spaces to the next multiple of 4. Callers pass text through
// Text first.
func Wrap(text string, width int) []string {
	width = max(width, 1)
	var lines []string
	for para := range strings.SplitSeq(text, "\n") {
		para = expandTabs(para)
		var line strings.Builder
		cols := 0
		lastSpace, colsAtSpace := -1, 0 // byte offset in line after the last space
		flush := func() {
			lines = append(lines, strings.TrimRight(line.String(), " "))
			line.Reset()
			cols, lastSpace = 0, -1
		}
		for _, r := range para {
			w := Cols(r)
			if cols+w > width && cols > 0 {
				if r == ' ' {
					flush()
					continue
				}
				if lastSpace > 0 {
					s := line.String()
					lines = append(lines, strings.TrimRight(s[:lastSpace], " "))
					rest := s[lastSpace:]
					line.Reset()
					line.WriteString(rest)
					cols -= colsAtSpace
					lastSpace = -1
				} else {
					flush()
				}
			}
			line.WriteRune(r)
			cols += w
			if r == ' ' {
				lastSpace, colsAtSpace = line.Len(), cols
			}
		}
		flush()
	}
	return lines
}

func expandTabs(s string) string {
	if !strings.Contains(s, "\t") {
		return s
	}
	var b strings.Builder
	cols := 0
	for _, r := range s {
		if r == '\t' {
			n := 4 - cols%4
			b.WriteString(strings.Repeat(" ", n))
			cols += n
			continue
		}
		b.WriteRune(r)
		cols += Cols(r)
	}
	return b.String()
}

// Width returns the terminal columns s takes (Cols of each character).
func Width(s string) int {
	n := 0
	for _, r := range s {
		n += Cols(r)
	}
	return n
}

// Pad returns s followed by spaces to width columns.
func Pad(s string, width int) string {
	if n := Width(s); n < width {
		return s + strings.Repeat(" ", width-n)
	}
	return s
}
