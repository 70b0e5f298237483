package chart

import (
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/text"
	"gonum.org/v1/plot/vg"
)

// This file chooses the ticks of chart axes: round values, labelled so
// that no two labels overlap at the length the axis is drawn.

// niceSteps are the mantissas of tick steps, smallest first.
var niceSteps = []float64{1, 2, 2.5, 5}

// niceStep returns the smallest step of the form m×10^k, m in niceSteps,
// that is at least raw.
func niceStep(raw float64) float64 {
	if !(raw > 0) || math.IsInf(raw, 0) {
		return 1
	}
	exp := math.Floor(math.Log10(raw))
	for {
		p := math.Pow(10, exp)
		for _, m := range niceSteps {
			if s := m * p; s >= raw*(1-1e-9) {
				return s
			}
		}
		exp++
	}
}

// nextStep returns the nice step after step.
func nextStep(step float64) float64 { return niceStep(step * 1.0001) }

// linearTicks returns the multiples of step in [lo, hi].
func linearTicks(lo, hi, step float64) []float64 {
	var out []float64
	first := math.Ceil(lo/step - 1e-9)
	for i := first; ; i++ {
		v := i * step
		if v > hi+step*1e-9 || len(out) > 1000 {
			break
		}
		if math.Abs(v) < step*1e-9 {
			v = 0
		}
		out = append(out, v)
	}
	return out
}

// decimals returns the number of decimals that tell apart values step
// apart.
func decimals(step float64) int {
	d := 0
	for s := step; d < 12 && math.Abs(s-math.Round(s)) > 1e-6*s; s *= 10 {
		d++
	}
	return d
}

// formatTick formats v, a tick of an axis whose ticks are step apart:
// 0.5, 2.25, 200k, 1.5M, 5e-4.
func formatTick(v, step float64) string {
	if v == 0 {
		return "0"
	}
	a := math.Abs(v)
	switch {
	case step >= 1000 && a >= 1e4:
		for _, u := range []struct {
			div    float64
			suffix string
		}{{1e12, "T"}, {1e9, "G"}, {1e6, "M"}, {1e3, "k"}} {
			if a >= u.div {
				s := strconv.FormatFloat(v/u.div, 'f', decimals(step/u.div), 64)
				if strings.Contains(s, ".") {
					s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
				}
				return s + u.suffix
			}
		}
	case step < 1e-3:
		exp := math.Floor(math.Log10(a))
		m := v / math.Pow(10, exp)
		s := strconv.FormatFloat(m, 'f', decimals(step/math.Pow(10, exp)), 64)
		return s + "e" + strconv.Itoa(int(exp))
	}
	return strconv.FormatFloat(v, 'f', decimals(step), 64)
}

// ticker chooses an axis's ticks for the length the axis is drawn at, in
// the style of its labels, so that labels never overlap: horizontal
// labels keep an em of space between them, vertical ones a line.
type ticker struct {
	length   vg.Length // of the axis
	vertical bool
	style    text.Style
	log      bool           // log scale
	date     *time.Location // unix seconds shown as dates and times in this zone
}

var _ plot.Ticker = (*ticker)(nil)

// Ticks returns the ticks of the range [lo, hi].
func (t *ticker) Ticks(lo, hi float64) []plot.Tick {
	switch {
	case !(hi > lo):
		return []plot.Tick{{Value: lo, Label: formatTick(lo, math.Max(math.Abs(lo), 1)/10)}}
	case t.date != nil:
		return t.dateTicks(lo, hi)
	case t.log && lo > 0 && hi/lo >= 10:
		return t.logTicks(lo, hi)
	}
	return t.linear(lo, hi)
}

// fits reports whether labels at positions pos (0 to 1 along the axis)
// keep clear of each other.
func (t *ticker) fits(pos []float64, labels []string) bool {
	em := t.style.Width("M")
	for i := 1; i < len(pos); i++ {
		gap := vg.Length(pos[i]-pos[i-1]) * t.length
		need := t.style.Height("0") * 1.6
		if !t.vertical {
			need = (t.style.Width(labels[i-1])+t.style.Width(labels[i]))/2 + em
		}
		if gap < need {
			return false
		}
	}
	return true
}

// position returns where v lies along the axis, from 0 to 1.
func (t *ticker) position(lo, hi, v float64) float64 {
	if t.log && lo > 0 {
		return math.Log(v/lo) / math.Log(hi/lo)
	}
	return (v - lo) / (hi - lo)
}

func (t *ticker) linear(lo, hi float64) []plot.Tick {
	n := 12.0
	if t.vertical {
		n = 8
	}
	step := niceStep((hi - lo) / n)
	for range 40 {
		vals := linearTicks(lo, hi, step)
		if t.log {
			vals = positive(vals)
		}
		labels := make([]string, len(vals))
		pos := make([]float64, len(vals))
		for i, v := range vals {
			labels[i] = formatTick(v, step)
			pos[i] = t.position(lo, hi, v)
		}
		if len(vals) <= 2 || t.fits(pos, labels) {
			return ticks(vals, labels)
		}
		step = nextStep(step)
	}
	return nil
}

func positive(vals []float64) []float64 {
	out := vals[:0]
	for _, v := range vals {
		if v > 0 {
			out = append(out, v)
		}
	}
	return out
}

// logTicks labels decades, and 2 and 5 times them when there is room;
// the other multiples are unlabelled minor ticks.
func (t *ticker) logTicks(lo, hi float64) []plot.Tick {
	first, last := math.Floor(math.Log10(lo)), math.Ceil(math.Log10(hi))
	candidates := []struct {
		mult  []float64
		every float64 // label every this many decades
	}{{[]float64{1, 2, 5}, 1}, {[]float64{1, 3}, 1}, {[]float64{1}, 1}, {[]float64{1}, 2}, {[]float64{1}, 3}, {[]float64{1}, 5}, {[]float64{1}, 10}}
	var vals []float64
	var labels []string
	for _, c := range candidates {
		vals, labels = vals[:0], labels[:0]
		for e := first; e <= last; e++ {
			if math.Mod(e, c.every) != 0 {
				continue
			}
			for _, m := range c.mult {
				if v := m * math.Pow(10, e); v >= lo*(1-1e-9) && v <= hi*(1+1e-9) {
					vals = append(vals, v)
					labels = append(labels, strconv.FormatFloat(v, 'g', 4, 64))
				}
			}
		}
		pos := make([]float64, len(vals))
		for i, v := range vals {
			pos[i] = t.position(lo, hi, v)
		}
		if t.fits(pos, labels) {
			break
		}
	}
	out := ticks(vals, labels)
	if last-first <= 6 { // minor ticks at the other multiples
		for e := first; e <= last; e++ {
			for m := 2.0; m < 10; m++ {
				if v := m * math.Pow(10, e); v >= lo && v <= hi && !slices.Contains(vals, v) {
					out = append(out, plot.Tick{Value: v})
				}
			}
		}
	}
	return out
}

// dateSteps are the steps of date axes, in seconds.
var dateSteps = []float64{1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800,
	21600, 43200, 86400, 2 * 86400, 7 * 86400, 14 * 86400, 28 * 86400}

func (t *ticker) dateTicks(lo, hi float64) []plot.Tick {
	for _, step := range dateSteps {
		ts := t.dateTicksStep(lo, hi, step)
		pos := make([]float64, len(ts))
		labels := make([]string, len(ts))
		for i, tk := range ts {
			pos[i], labels[i] = t.position(lo, hi, tk.Value), tk.Label
		}
		if t.fits(pos, labels) {
			return ts
		}
	}
	return nil
}

// dateTicksStep returns the ticks of a date axis step seconds apart,
// aligned to the step in the zone's wall time.
func (t *ticker) dateTicksStep(lo, hi, step float64) []plot.Tick {
	_, off := time.Unix(int64(lo), 0).In(t.date).Zone()
	var out []plot.Tick
	for v := math.Ceil((lo+float64(off))/step)*step - float64(off); v <= hi && len(out) < 1000; v += step {
		out = append(out, plot.Tick{Value: v, Label: t.dateLabel(v, step, hi-lo)})
	}
	return out
}

func (t *ticker) dateLabel(v, step, span float64) string {
	tm := time.Unix(int64(math.Round(v)), 0).In(t.date)
	switch {
	case step >= 86400:
		return tm.Format("Jan 2")
	case span > 86400 && tm.Hour() == 0 && tm.Minute() == 0:
		return tm.Format("Jan 2")
	case step < 60:
		return tm.Format("15:04:05")
	}
	return tm.Format("15:04")
}

func ticks(vals []float64, labels []string) []plot.Tick {
	out := make([]plot.Tick, len(vals))
	for i, v := range vals {
		out[i] = plot.Tick{Value: v, Label: labels[i]}
	}
	return out
}

// timeUnit returns how to show seconds up to span on an axis: divided by
// div, in unit.
func timeUnit(span float64) (div float64, unit string) {
	switch {
	case span < 120:
		return 1, "s"
	case span < 2*3600:
		return 60, "min"
	case span < 72*3600:
		return 3600, "h"
	}
	return 86400, "days"
}

// truncate shortens s to n runes, marking the cut with an ellipsis.
func truncate(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return strings.TrimSpace(string(r[:n-1])) + "…"
}
