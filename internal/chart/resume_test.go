package chart

import (
	"context"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/runlog/runlog/internal/runfmt"
	"github.com/runlog/runlog/internal/series"
	"github.com/runlog/runlog/internal/store"
)

// resumedRun is a run that trained 50 steps, lay dead for 950 s and was
// resumed for 50 more steps.
func resumedRun(t *testing.T) (store.Store, store.Run) {
	home := t.TempDir()
	var w logWriter
	const t0 = 1764201600
	w.header("resumed1", "resumed", t0)
	for s := range 50 {
		w.metrics(int64(s), t0+1+float64(s), map[string]float64{"train_loss": 3 - float64(s)/50})
	}
	w.json(runfmt.TypeResume, runfmt.Resume{Time: t0 + 1000, Host: "box", PID: 2})
	for s := 50; s < 100; s++ {
		w.metrics(int64(s), t0+1001+float64(s-50), map[string]float64{"train_loss": 3 - float64(s)/50})
	}
	writeRun(t, home, "resumed1", &w)
	st, runs := openHome(t, home)
	return st, runs["resumed1"]
}

// TestCurvesBreakAtResumes: on the wallclock and time axes a curve breaks
// between the last point before a resume and the first after it — a NaN
// point at the resume — and says where the run resumed; on the step and
// active-time axes it runs on (active time leaves the dead time out).
func TestCurvesBreakAtResumes(t *testing.T) {
	st, r := resumedRun(t)
	axes := []series.Axis{series.AxisStep, series.AxisWallclock, series.AxisActive, series.AxisTime}
	curves, err := Load(context.Background(), st, []store.Run{r}, Request{Keys: []string{"train_loss"}, Axes: axes, Buckets: 1000, Smooth: 0.5})
	if err != nil {
		t.Fatal(err)
	}
	want := map[series.Axis][]float64{ // where the NaN lies, between which xs
		series.AxisWallclock: {50, 1000, 1001},
		series.AxisTime:      {1764201600 + 50, 1764201600 + 1000, 1764201600 + 1001},
	}
	for _, c := range curves {
		for name, l := range map[string]Line{"raw": c.Raw, "smoothed": c.Smoothed} {
			var gaps [][]float64
			for i, y := range l.Y {
				if math.IsNaN(y) {
					gaps = append(gaps, []float64{l.X[i-1], l.X[i], l.X[i+1]})
				}
			}
			w, breaks := want[c.Axis]
			switch {
			case !breaks && len(gaps) > 0:
				t.Errorf("%s %s: gaps at %v: this axis runs on across a resume", c.Axis, name, gaps)
			case breaks && (len(gaps) != 1 || !slices.Equal(gaps[0], w)):
				t.Errorf("%s %s: gaps %v, want one NaN at %v between %v and %v", c.Axis, name, gaps, w[1], w[0], w[2])
			}
			if len(l.X) != 100+len(gaps) {
				t.Errorf("%s %s: %d points, want the 100 logged and the gaps", c.Axis, name, len(l.X))
			}
		}
		if w, breaks := want[c.Axis]; breaks != (len(c.Resumes) == 1) || breaks && c.Resumes[0] != w[1] {
			t.Errorf("%s: resumes %v", c.Axis, c.Resumes)
		}
		if c.Axis == series.AxisActive && c.Raw.X[50]-c.Raw.X[49] > 2 {
			t.Errorf("active time jumps from %v to %v across the resume: the dead time must not count", c.Raw.X[49], c.Raw.X[50])
		}
		if c.Diverged != nil {
			t.Errorf("%s: a gap is not a divergence: %+v", c.Axis, c.Diverged)
		}
	}
}

// TestTerminalBreaksAtResume: the wallclock chart of `runlog show` leaves
// the dead time blank and marks the resume (┆) on its bottom row.
func TestTerminalBreaksAtResume(t *testing.T) {
	st, r := resumedRun(t)
	out, err := Terminal(context.Background(), st, []store.Run{r}, TermOptions{Width: 60, Height: 6, Axes: []series.Axis{series.AxisWallclock}})
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "terminal_resumed.golden", out)
	lines := strings.Split(out, "\n")
	for _, line := range lines[1:7] {
		// Between the first segment (x ≤ 50 s of 1050) and the second (from
		// 1000 s) no dot may be drawn: the line does not cross the gap.
		cells := []rune(line)
		axis := slices.IndexFunc(cells, func(r rune) bool { return r == '│' || r == '┤' })
		plot := cells[axis+1:]
		for col := 6; col < min(len(plot), 50); col++ { // of 56
			if plot[col] != ' ' && plot[col] != '┆' {
				t.Errorf("column %d of %q is drawn: the line crosses the time the run lay dead", col, line)
				break
			}
		}
	}
	if !strings.Contains(lines[6], "┆") {
		t.Errorf("the resume is not marked on the bottom row:\n%s", out)
	}
}

// TestPlotMarksResume: `runlog plot` labels the resume on the wallclock
// panel, not on the step panel.
func TestPlotMarksResume(t *testing.T) {
	st, r := resumedRun(t)
	for _, tt := range []struct {
		axis series.Axis
		mark bool
	}{{series.AxisWallclock, true}, {series.AxisStep, false}} {
		fig, err := Curves(context.Background(), st, []store.Run{r}, Options{X: tt.axis})
		if err != nil {
			t.Fatal(err)
		}
		var b strings.Builder
		if err := fig.Write(&b, "svg"); err != nil {
			t.Fatal(err)
		}
		if got := strings.Contains(b.String(), ">resumed<"); got != tt.mark {
			t.Errorf("%s panel: resume labelled %v, want %v", tt.axis, got, tt.mark)
		}
	}
}
