package chart

import (
	"bytes"
	"context"
	"image"
	"image/color"
	"image/png"
	"math"
	"path/filepath"
	"strings"
	"testing"

	"github.com/runlog/runlog/internal/series"
	"github.com/runlog/runlog/internal/store"
	"github.com/runlog/runlog/internal/store/sqlite"
)

// groupRuns returns a store of 6 runs of 200 steps in 3 groups by
// learning rate (0.001, 0.01, 0.1; their losses fall at rates 1/3, 1, 3);
// one run of the last group diverges (NaN) from step 120.
func groupRuns(t testing.TB) (*sqlite.DB, []store.Run, Groups, []float64) {
	t.Helper()
	home := t.TempDir()
	ids := []string{"g1aaaaaa", "g1bbbbbb", "g2aaaaaa", "g2bbbbbb", "g3aaaaaa", "g3bbbbbb"}
	scale := []float64{1.0 / 3, 1.0 / 3, 1, 1, 3, 3}
	for i, id := range ids {
		var bad map[int]float64
		if i == 5 {
			bad = map[int]float64{}
			for s := 120; s <= 200; s++ {
				bad[s] = math.NaN()
			}
		}
		trainingRun(t, home, id, id, 1764201600+float64(i)*3600, 200, 25, scale[i]*(1+0.05*float64(i%2)), bad)
	}
	st, byID := openHome(t, home)
	var runs []store.Run
	for _, id := range ids {
		runs = append(runs, byID[id])
	}
	g := Groups{Labels: []string{"0.001", "0.01", "0.1"}, Members: [][]int{{0, 1}, {2, 3}, {4, 5}}}
	return st, runs, g, []float64{0.001, 0.001, 0.01, 0.01, 0.1, 0.1}
}

func TestGroupCurves(t *testing.T) {
	st, runs, g, _ := groupRuns(t)
	ctx := context.Background()
	tests := []struct {
		name         string
		opt          Options
		minmax       bool
		w, h, panels int
		rows         int
	}{
		{"losses, both axes", Options{}, false, 1600, 600, 2, 1},
		{"min-max, by step, smoothed", Options{X: series.AxisStep, Smooth: 0.9, Width: 800, Height: 400}, true, 800, 400, 1, 1},
		{"keys ten times apart: a row each", Options{X: series.AxisWallclock, Keys: []string{"train_loss", "learning_rate"}}, false, 1000, 900, 2, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g.MinMax = tt.minmax
			fig, err := GroupCurves(ctx, st, runs, g, tt.opt)
			if err != nil {
				t.Fatal(err)
			}
			if len(fig.Panels) != tt.panels {
				t.Fatalf("%d panels, want %d", len(fig.Panels), tt.panels)
			}
			if _, rows := fig.grid(); rows != tt.rows {
				t.Errorf("%d rows, want %d", rows, tt.rows)
			}
			if !strings.Contains(fig.Runs[2], "1 diverged") || !strings.Contains(fig.Runs[0], "n=2") {
				t.Errorf("legend labels %q", fig.Runs)
			}
			for _, pn := range fig.Panels {
				for _, c := range pn.Curves {
					if c.Lo == nil || len(c.Lo) != c.Raw.Len() {
						t.Fatalf("curve %s of group %d has no band", c.Key, c.Run)
					}
				}
			}
			var buf bytes.Buffer
			if err := fig.Write(&buf, PNG); err != nil {
				t.Fatal(err)
			}
			img, err := png.Decode(&buf)
			if err != nil {
				t.Fatal(err)
			}
			if b := img.Bounds(); b.Dx() != tt.w || b.Dy() != tt.h {
				t.Fatalf("size %v, want %dx%d", b.Size(), tt.w, tt.h)
			}
			rgba, ok := img.(*image.RGBA)
			if !ok {
				rgba = image.NewRGBA(img.Bounds())
				for y := range img.Bounds().Dy() {
					for x := range img.Bounds().Dx() {
						rgba.Set(x, y, img.At(x, y))
					}
				}
			}
			// Each group's mean in its colour, and its band: the colour
			// faded on white.
			for gi := range g.Labels {
				c := Palette[gi]
				if n := inkOf(rgba, rgba.Bounds(), c); n < 100 {
					t.Errorf("group %d: %d pixels of its colour", gi, n)
				}
				a := bandAlpha
				band := color.RGBA{uint8(float64(c.R)*a + 255*(1-a)), uint8(float64(c.G)*a + 255*(1-a)), uint8(float64(c.B)*a + 255*(1-a)), 255}
				if n := inkOf(rgba, rgba.Bounds(), band); n < 50 && gi < 2 {
					t.Errorf("group %d: %d pixels of its band", gi, n)
				}
			}
		})
	}
}

func TestGroupMeanIsTheMean(t *testing.T) {
	st, runs, g, _ := groupRuns(t)
	fig, err := GroupCurves(context.Background(), st, runs, g, Options{X: series.AxisStep})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range fig.Panels[0].Curves {
		if c.Key != "train_loss" || c.Run != 2 {
			continue
		}
		// At step 0 both runs of the group log 4 (1 + 3e^0 + 0.05 sin 0).
		if math.Abs(c.Raw.Y[0]-4) > 1e-9 || c.Lo[0] != c.Hi[0] {
			t.Errorf("group 0.1 at step 0: mean %g band %g–%g, want 4 with no spread", c.Raw.Y[0], c.Lo[0], c.Hi[0])
		}
		// From step 120 only the run that did not diverge counts.
		last := c.Raw.Len() - 1
		if math.IsNaN(c.Raw.Y[last]) || c.Lo[last] != c.Hi[last] {
			t.Errorf("group 0.1 at the end: mean %g band %g–%g; want the one finite run", c.Raw.Y[last], c.Lo[last], c.Hi[last])
		}
		return
	}
	t.Fatal("no train_loss curve of group 0.1")
}

func TestSweepChart(t *testing.T) {
	st, runs, g, xs := groupRuns(t)
	groupOf := []int{0, 0, 1, 1, 2, 2}
	for _, best := range []bool{false, true} {
		s, err := SweepChart(context.Background(), st, runs, SweepData{Param: "lr", Key: "train_loss", Best: best, X: xs, Group: groupOf, Labels: g.Labels})
		if err != nil {
			t.Fatal(err)
		}
		if !s.logX {
			t.Error("learning rates spanning two decades on a linear axis")
		}
		path := filepath.Join(t.TempDir(), "sweep.png")
		if err := s.WriteFile(path); err != nil {
			t.Fatal(err)
		}
		var buf bytes.Buffer
		if err := s.Write(&buf, PNG); err != nil {
			t.Fatal(err)
		}
		img, err := png.Decode(&buf)
		if err != nil {
			t.Fatal(err)
		}
		if b := img.Bounds(); b.Dx() != SinglePanelWidth || b.Dy() != ScheduleHeight {
			t.Errorf("size %v", b.Size())
		}
		for _, f := range []string{SVG, PDF} {
			var b bytes.Buffer
			if err := s.Write(&b, f); err != nil || b.Len() == 0 {
				t.Errorf("%s: %v", f, err)
			}
		}
	}
	for _, tt := range []struct {
		param string
		xs    []float64
		log   bool
	}{
		{"lr", []float64{1, 1, 2, 2}, false},
		{"lr", []float64{3e-3, 3e-3, 3e-2, 3e-2}, true}, // a decade of learning rates
		{"optimizer.weight_decay", []float64{0.01, 0.01, 0.1, 0.1}, true},
		{"batch_size", []float64{32, 32, 256, 256}, false}, // 8×, not a rate
		{"batch_size", []float64{8, 8, 1024, 1024}, true},  // two decades
	} {
		s, _ := SweepChart(context.Background(), st, runs[:4], SweepData{Param: tt.param, Key: "train_loss", X: tt.xs, Group: groupOf[:4], Labels: g.Labels[:2]})
		if s.logX != tt.log {
			t.Errorf("%s %v: log x-axis %v, want %v", tt.param, tt.xs, s.logX, tt.log)
		}
	}
}

func TestPaletteNote(t *testing.T) {
	f := &Figure{Runs: make([]string, len(Palette)+1), Unit: "groups", Panels: []Panel{{Axis: series.AxisStep}}, YLabel: "loss"}
	for i := range f.Runs {
		f.Runs[i] = "g"
	}
	var b bytes.Buffer
	if err := f.Write(&b, SVG); err != nil {
		t.Fatal(err)
	}
	texts, _ := svgTexts(t, b.Bytes())
	if !strings.Contains(strings.Join(texts, "\n"), "17 groups, 16 colours") {
		t.Errorf("legend of 17 groups does not say colours repeat: %q", texts)
	}
}
