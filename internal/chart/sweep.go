package chart

import (
	"context"
	"fmt"
	"image/color"
	"image/png"
	"io"
	"math"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
	"gonum.org/v1/plot/vg/vgpdf"
	"gonum.org/v1/plot/vg/vgsvg"

	"github.com/runlog/runlog/internal/atomicfile"
	"github.com/runlog/runlog/internal/series"
	"github.com/runlog/runlog/internal/store"
)

// SweepData says what a metric-against-hyperparameter chart shows: a
// metric's final (or best) value of each run against a config value, one
// point per run and the mean of each group.
type SweepData struct {
	Param  string    // the config key on x: "lr"
	Key    string    // the metric on y: "val_loss"
	Best   bool      // the best value (by the key's goal) instead of the final one
	Goal   string    // runfmt.GoalMinimize or GoalMaximize, for Best
	X      []float64 // the config value of each run
	Group  []int     // the group of each run, for its colour
	Labels []string  // of the groups
}

// Sweep is the chart of a metric against a hyperparameter, the plot of
// every learning-rate sweep's write-up.
type Sweep struct {
	data     SweepData
	y        []float64 // by run; NaN where the run diverged or lacks the key
	diverged []bool
	logX     bool
	Width    int
	Height   int
}

// SweepChart reads the final (or best) value of d.Key of every run from
// the store's statistics and returns the chart. The x-axis is logarithmic
// when every value is positive and they span two decades or more, or, for
// a rate such as a learning rate or weight decay, a factor of 3 or more.
func SweepChart(ctx context.Context, st store.Store, runs []store.Run, d SweepData) (*Sweep, error) {
	s := &Sweep{data: d, y: make([]float64, len(runs)), diverged: make([]bool, len(runs)), Width: SinglePanelWidth, Height: ScheduleHeight}
	any := false
	for i, r := range runs {
		s.y[i] = math.NaN()
		ss, _, err := st.FindSeries(ctx, r.ID, store.SeriesQuery{Keys: []string{d.Key}})
		if err != nil {
			return nil, fmt.Errorf("run %s series: %w", r.ID, err)
		}
		for _, ser := range ss {
			if ser.Key != d.Key || ser.Stats.Count == 0 {
				continue
			}
			any = true
			s.diverged[i] = ser.Stats.NaN+ser.Stats.Inf > 0
			switch {
			case s.diverged[i]:
			case d.Best && d.Goal == "maximize" && ser.Stats.HasExtremes():
				s.y[i] = ser.Stats.Max.Value
			case d.Best && ser.Stats.HasExtremes():
				s.y[i] = ser.Stats.Min.Value
			default:
				s.y[i] = ser.Stats.Last.Value
			}
		}
	}
	if !any {
		return nil, fmt.Errorf("%w: the runs log no %s", ErrNoData, d.Key)
	}
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, x := range d.X {
		lo, hi = math.Min(lo, x), math.Max(hi, x)
	}
	s.logX = lo > 0 && (hi/lo >= 100 || isRate(d.Param) && hi/lo >= 3)
	return s, nil
}

// isRate reports whether a config key names a rate that sweeps vary by
// factors: a learning rate, a weight decay, eta, alpha, eps or any
// `…_rate`. The web UI's isRateKey (web/src/groups.js) is the same rule.
func isRate(key string) bool {
	k := strings.ToLower(key[strings.LastIndexAny(key, "./")+1:])
	switch k {
	case "lr", "learning_rate", "learningrate", "weight_decay", "weightdecay", "wd", "eta", "alpha", "eps", "epsilon":
		return true
	}
	if rest, ok := strings.CutPrefix(k, "lr"); ok && rest != "" && strings.Trim(rest, "0123456789") == "" {
		return true // lr0, lr1: one per parameter group
	}
	return strings.HasSuffix(k, "_lr") || strings.HasSuffix(k, "_rate") || strings.HasPrefix(k, "lr_")
}

// plot builds the chart.
func (s *Sweep) plot(format string) *plot.Plot {
	d := s.data
	p := plot.New()
	p.BackgroundColor = color.White
	stat := "final"
	if d.Best {
		stat = "best"
	}
	p.Title.Text = fmt.Sprintf("%s %s by %s", stat, d.Key, d.Param)
	p.Title.TextStyle = textStyle(boldFor(format), titleSize)
	p.Title.TextStyle.XAlign, p.Title.TextStyle.YAlign = draw.XCenter, draw.YTop
	p.Title.Padding = vg.Points(6)
	p.X.Label.Text, p.Y.Label.Text = d.Param, stat+" "+d.Key
	if s.logX {
		p.X.Label.Text += " (log scale)"
		p.X.Scale = plot.LogScale{}
	}
	wpt, hpt := pt(s.Width), pt(s.Height)
	p.X.Tick.Marker = &ticker{length: wpt - 60, style: textStyle(sansFont, tickSize), log: s.logX}
	p.Y.Tick.Marker = &ticker{length: hpt - 70, vertical: true, style: textStyle(sansFont, tickSize)}
	for _, a := range []*plot.Axis{&p.X, &p.Y} {
		a.Label.TextStyle = textStyle(sansFont, labelSize)
		a.Tick.Label = textStyle(sansFont, tickSize)
		a.Color, a.Tick.Color = axisColor, axisColor
	}
	p.X.Tick.Label.XAlign, p.X.Tick.Label.YAlign = draw.XCenter, draw.YTop
	p.Y.Tick.Label.XAlign, p.Y.Tick.Label.YAlign = draw.XRight, draw.YCenter
	grid := plotter.NewGrid()
	grid.Vertical = draw.LineStyle{Color: gridColor, Width: vg.Points(0.5)}
	grid.Horizontal = grid.Vertical
	p.Add(grid)

	// Runs: small faded points; groups: their mean with a bar of ±1 std,
	// joined by a line in x order.
	ylo, yhi := math.Inf(1), math.Inf(-1)
	for _, y := range s.y {
		if !math.IsNaN(y) && !math.IsInf(y, 0) {
			ylo, yhi = math.Min(ylo, y), math.Max(yhi, y)
		}
	}
	if ylo > yhi {
		ylo, yhi = 0, 1
	}
	pad := math.Max((yhi-ylo)*0.08, math.Abs(yhi)*1e-3+1e-9)
	p.Y.Min, p.Y.Max = ylo-pad, yhi+5*pad // room for the legend and the marks of diverged runs
	var means plotter.XYs
	var bars plotter.XYs
	var errs plotter.YErrors
	for gi := range d.Labels {
		var ys []float64
		x := math.NaN()
		for i, g := range d.Group {
			if g == gi {
				ys, x = append(ys, s.y[i]), d.X[i]
			}
		}
		sum := series.Summarize(ys)
		if sum.N == 0 {
			continue
		}
		means = append(means, plotter.XY{X: x, Y: sum.Mean})
		bars = append(bars, plotter.XY{X: x, Y: sum.Mean})
		errs = append(errs, struct{ Low, High float64 }{sum.Std, sum.Std})
	}
	sortXY(means)
	if len(means) > 1 {
		l, _ := plotter.NewLine(means)
		l.LineStyle = draw.LineStyle{Color: neutralKey, Width: lineWidth}
		p.Add(l)
	}
	if len(bars) > 0 {
		eb := &plotter.YErrorBars{XYs: bars, YErrors: errs, LineStyle: draw.LineStyle{Color: neutralKey, Width: lineWidth}, CapWidth: vg.Points(6)}
		p.Add(eb)
	}
	for i, y := range s.y {
		x := d.X[i]
		c := paletteColor(max(0, d.Group[i]))
		if s.diverged[i] || math.IsNaN(y) {
			if !s.diverged[i] {
				continue
			}
			sc, _ := plotter.NewScatter(plotter.XYs{{X: x, Y: yhi + pad}})
			sc.GlyphStyle = draw.GlyphStyle{Color: noteColor, Radius: vg.Points(4), Shape: draw.CrossGlyph{}}
			p.Add(sc)
			continue
		}
		sc, _ := plotter.NewScatter(plotter.XYs{{X: x, Y: y}})
		sc.GlyphStyle = draw.GlyphStyle{Color: faded(c, 0.6), Radius: markerRadius, Shape: draw.CircleGlyph{}}
		p.Add(sc)
	}
	for _, m := range means {
		sc, _ := plotter.NewScatter(plotter.XYs{m})
		sc.GlyphStyle = draw.GlyphStyle{Color: neutralKey, Radius: markerRadius * 1.6, Shape: draw.BoxGlyph{}}
		p.Add(sc)
	}
	p.Legend = plot.NewLegend()
	p.Legend.TextStyle = textStyle(sansFont, legendSize)
	p.Legend.Top = true
	runs := &plotter.Scatter{GlyphStyle: draw.GlyphStyle{Color: faded(Palette[0], 0.6), Radius: markerRadius, Shape: draw.CircleGlyph{}}}
	p.Legend.Add("a run (coloured by group)", runs)
	mean := &plotter.Scatter{GlyphStyle: draw.GlyphStyle{Color: neutralKey, Radius: markerRadius * 1.6, Shape: draw.BoxGlyph{}}}
	p.Legend.Add("group mean ± 1 std", mean)
	if ndiv := count(s.diverged); ndiv > 0 {
		x := &plotter.Scatter{GlyphStyle: draw.GlyphStyle{Color: noteColor, Radius: vg.Points(4), Shape: draw.CrossGlyph{}}}
		p.Legend.Add(fmt.Sprintf("diverged (NaN): %d run(s), not in the mean", ndiv), x)
	}
	return p
}

func count(bs []bool) int {
	n := 0
	for _, b := range bs {
		if b {
			n++
		}
	}
	return n
}

func sortXY(xy plotter.XYs) {
	for i := 1; i < len(xy); i++ {
		for j := i; j > 0 && xy[j].X < xy[j-1].X; j-- {
			xy[j], xy[j-1] = xy[j-1], xy[j]
		}
	}
}

// Write draws the chart to w in format (PNG, SVG or PDF).
func (s *Sweep) Write(w io.Writer, format string) error {
	wpt, hpt := pt(s.Width), pt(s.Height)
	switch format {
	case PNG:
		c := vgimg.NewWith(vgimg.UseWH(wpt, hpt), vgimg.UseDPI(dpi))
		s.plot(format).Draw(draw.New(c))
		return png.Encode(w, c.Image())
	case SVG:
		c := vgsvg.New(wpt, hpt)
		s.plot(format).Draw(draw.New(c))
		_, err := c.WriteTo(w)
		return err
	case PDF:
		c := vgpdf.New(wpt, hpt)
		s.plot(format).Draw(draw.New(c))
		_, err := c.WriteTo(w)
		return err
	}
	return fmt.Errorf("unknown chart format %q: use png, svg or pdf", format)
}

// WriteFile writes the chart to path, in the format its extension names.
func (s *Sweep) WriteFile(path string) error {
	format, err := FormatOf(path)
	if err != nil {
		return err
	}
	return atomicfile.Write(path, func(w io.Writer) error { return s.Write(w, format) })
}
