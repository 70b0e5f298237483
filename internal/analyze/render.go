package analyze

import (
	"fmt"
	"io"
	"math"
	"strings"
	"unicode/utf8"

	"github.com/runlog/runlog/internal/store"
)

// grid is a comparison laid out for printing: a label column, then one
// column per run.
type grid struct {
	heads []string
	rows  []gridRow
	notes []string // footnotes
}

type gridRow struct {
	label   string
	cells   []string // nil for a section heading
	section bool
}

func (g *grid) section(label string) { g.rows = append(g.rows, gridRow{label: label, section: true}) }

func (g *grid) row(label string, cells []string) {
	g.rows = append(g.rows, gridRow{label: label, cells: cells})
}

// runName is how a run is named in a column head.
func runName(r store.Run) string {
	if r.Name != "" {
		return r.Name
	}
	return r.ID
}

// grid lays out the comparison.
func (c *Comparison) grid() *grid {
	g := &grid{}
	for i, r := range c.Runs {
		h := clip(runName(r.Run), 28)
		if i == c.Baseline && len(c.Runs) > 1 {
			h += " (baseline)"
		}
		g.heads = append(g.heads, h)
	}
	each := func(f func(r *Result) string) []string {
		out := make([]string, len(c.Runs))
		for i := range c.Runs {
			out[i] = f(&c.Runs[i])
		}
		return out
	}
	g.row("run", each(func(r *Result) string { return r.Run.ID }))
	g.row("status", each(func(r *Result) string { return r.Status }))
	g.row("last step", each(func(r *Result) string {
		if r.Run.MaxStep < 0 {
			return "-"
		}
		return fmt.Sprint(r.Run.MaxStep)
	}))
	g.row("wallclock", each(func(r *Result) string { return duration(r.Wallclock) }))
	g.row("active", each(func(r *Result) string { return duration(r.Active) }))
	g.row("tokens/s", each(func(r *Result) string { return rate(r.TokensPerSec) }))
	for k, key := range c.Keys {
		g.row(key+" final", each(func(r *Result) string {
			m := r.Metrics[k]
			if !m.Logged {
				return "not logged"
			}
			return fmt.Sprintf("%s (%d)", num(m.Final), m.FinalStep)
		}))
		g.row(key+" best", each(func(r *Result) string {
			m := r.Metrics[k]
			if !m.Logged || m.BestStep < 0 {
				return "-"
			}
			return fmt.Sprintf("%s (%d)", num(m.Best), m.BestStep)
		}))
	}
	if len(c.Runs) > 1 {
		if len(c.Config) == 0 {
			g.section("config: the same in every run")
		} else {
			g.section("config (keys that differ)")
		}
		for _, d := range c.Config {
			cells := make([]string, len(d.Values))
			for i, v := range d.Values {
				cells[i] = clip(configValue(v), 40)
			}
			g.row("  "+d.Key, cells)
		}
	}
	for t, tg := range c.Targets {
		g.section("time to " + tg.String())
		g.row("  reached", each(func(r *Result) string { return r.Reaches[t].describe() }))
		if len(c.Runs) > 1 {
			base := c.Runs[c.Baseline].Reaches[t]
			g.row("  vs baseline", each(func(r *Result) string {
				switch {
				case r == &c.Runs[c.Baseline]:
					return "baseline"
				case !base.Reached:
					return "baseline did not reach it"
				}
				if !r.Reaches[t].Reached {
					return "-"
				}
				return r.Reaches[t].versus()
			}))
		}
	}
	at := func(title func(int) string, vals func(r *Result) []float64, n int) {
		for i := 0; i < n; i++ {
			g.section(title(i))
			for k, key := range c.Keys {
				g.row("  "+key, each(func(r *Result) string {
					v := vals(r)[i*len(c.Keys)+k]
					if math.IsNaN(v) {
						return "-"
					}
					return num(v)
				}))
			}
		}
	}
	at(func(i int) string { return "at " + duration(c.AtTimes[i]) + " wallclock (interpolated)" },
		func(r *Result) []float64 { return r.AtTime }, len(c.AtTimes))
	at(func(i int) string { return fmt.Sprintf("at step %d (interpolated)", c.AtSteps[i]) },
		func(r *Result) []float64 { return r.AtStep }, len(c.AtSteps))
	g.notes = c.notes()
	return g
}

// notes explains how the numbers were read off the curves.
func (c *Comparison) notes() []string {
	var notes []string
	read := map[string]bool{}
	for _, t := range c.Targets {
		read[t.Key] = true
	}
	if len(c.AtTimes)+len(c.AtSteps) > 0 {
		for _, k := range c.Keys {
			read[k] = true
		}
	}
	var smoothed, raw []string
	for _, k := range append(append([]string{}, c.Keys...), targetKeys(c.Targets)...) {
		if !read[k] {
			continue
		}
		read[k] = false
		if alphaFor(k, c.Alpha) > 0 {
			smoothed = append(smoothed, k)
		} else {
			raw = append(raw, k)
		}
	}
	if len(smoothed) > 0 {
		s := fmt.Sprintf("%s smoothed before values are read off: a debiased exponential moving average, α = %g", strings.Join(smoothed, ", "), c.Alpha)
		if len(raw) > 0 {
			s += fmt.Sprintf("; %s as logged (validation metrics are not smoothed)", strings.Join(raw, ", "))
		}
		notes = append(notes, s+".")
	}
	if len(c.Targets) > 0 {
		notes = append(notes, "Time to target: the first logged step at which the curve is at or past the target, with the wallclock time there (and the active time when different).")
		if len(c.Runs) > 1 {
			notes = append(notes, "Speed-up: the baseline's wallclock time to the target over the run's.")
		}
	}
	if len(c.AtTimes)+len(c.AtSteps) > 0 {
		notes = append(notes, "Values at a time or step are interpolated linearly between the points logged around it; - where a run has none on one side.")
	}
	return notes
}

func targetKeys(ts []Target) []string {
	var out []string
	for _, t := range ts {
		out = append(out, t.Key)
	}
	return out
}

// Text writes the comparison as a table for a terminal width columns wide.
// Runs that do not fit beside each other are continued in further blocks,
// each repeating the label column.
func (c *Comparison) Text(w io.Writer, width int) error {
	g := c.grid()
	labelW := 0
	for _, r := range g.rows {
		if !r.section {
			labelW = max(labelW, utf8.RuneCountInString(r.label))
		}
	}
	colW := make([]int, len(g.heads))
	for i, h := range g.heads {
		colW[i] = utf8.RuneCountInString(h)
		for _, r := range g.rows {
			if r.cells != nil {
				colW[i] = max(colW[i], utf8.RuneCountInString(r.cells[i]))
			}
		}
	}
	var b strings.Builder
	for from := 0; from < len(g.heads); {
		to, used := from+1, labelW+2+colW[from]
		for to < len(g.heads) && used+2+colW[to] <= width {
			used += 2 + colW[to]
			to++
		}
		if from > 0 {
			b.WriteByte('\n')
		}
		line := func(label string, cells []string) {
			b.WriteString(pad(label, labelW))
			for i := from; i < to; i++ {
				b.WriteString("  ")
				if i == to-1 {
					// A column alone that is still too wide is clipped.
					b.WriteString(clip(cells[i], max(12, width-(used-colW[i]))))
				} else {
					b.WriteString(pad(cells[i], colW[i]))
				}
			}
			b.WriteByte('\n')
		}
		line("", g.heads)
		for _, r := range g.rows {
			if r.section {
				b.WriteString(r.label + "\n")
				continue
			}
			line(r.label, r.cells)
		}
		from = to
	}
	if len(g.notes) > 0 {
		b.WriteByte('\n')
	}
	for _, n := range g.notes {
		b.WriteString(wrap(n, width))
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// Markdown writes the comparison as a GitHub-flavoured Markdown table.
func (c *Comparison) Markdown(w io.Writer) error {
	g := c.grid()
	var b strings.Builder
	b.WriteString("| |")
	for _, h := range g.heads {
		b.WriteString(" " + mdCell(h) + " |")
	}
	b.WriteString("\n|---|")
	for range g.heads {
		b.WriteString("---|")
	}
	b.WriteByte('\n')
	for _, r := range g.rows {
		if r.section {
			b.WriteString("| **" + mdCell(r.label) + "** |" + strings.Repeat(" |", len(g.heads)) + "\n")
			continue
		}
		label := strings.TrimLeft(r.label, " ")
		if label != r.label {
			label = "&emsp;" + mdCell(label)
		} else {
			label = mdCell(label)
		}
		b.WriteString("| " + label + " |")
		for i, cell := range r.cells {
			if i < len(c.Runs) && r.label == "run" {
				cell = "`" + cell + "`"
			}
			b.WriteString(" " + mdCell(cell) + " |")
		}
		b.WriteByte('\n')
	}
	if len(g.notes) > 0 {
		b.WriteByte('\n')
		for _, n := range g.notes {
			b.WriteString("- " + mdText(n) + "\n")
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// mdCell escapes text for a Markdown table cell.
func mdCell(s string) string {
	s = strings.ReplaceAll(s, "|", `\|`)
	s = strings.ReplaceAll(s, "\r\n", "\n")
	return strings.ReplaceAll(strings.TrimSpace(s), "\n", "<br>")
}

// mdText escapes the characters of plain text that Markdown would take for
// markup.
func mdText(s string) string {
	r := strings.NewReplacer(`\`, `\\`, "*", `\*`, "_", `\_`, "`", "\\`", "<", "&lt;", "[", `\[`, "]", `\]`)
	return r.Replace(s)
}

func pad(s string, n int) string {
	if k := utf8.RuneCountInString(s); k < n {
		return s + strings.Repeat(" ", n-k)
	}
	return s
}

func clip(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}

// wrap breaks text into lines of at most width columns, at spaces, each
// ending in a newline.
func wrap(text string, width int) string {
	var b strings.Builder
	n := 0
	for _, word := range strings.Fields(text) {
		k := utf8.RuneCountInString(word)
		if n > 0 && n+1+k > width {
			b.WriteByte('\n')
			n = 0
		}
		if n > 0 {
			b.WriteByte(' ')
			n++
		}
		b.WriteString(word)
		n += k
	}
	b.WriteByte('\n')
	return b.String()
}
