package analyze

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/runlog/runlog/internal/runfmt"
	"github.com/runlog/runlog/internal/store"
)

func compare(t *testing.T, st store.Store, runs map[string]store.Run, opt Options, ids ...string) *Comparison {
	t.Helper()
	var list []store.Run
	for _, id := range ids {
		list = append(list, runs[id])
	}
	opt.Now = now
	c, err := Compare(context.Background(), st, list, opt)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func near(a, b float64) bool { return math.Abs(a-b) <= 1e-9*max(1, math.Abs(b)) }

// referenceEMA is the debiased exponential moving average of evenly
// spaced values, written out plainly to check what Compare reads off.
func referenceEMA(ys []float64, alpha float64) []float64 {
	out := make([]float64, len(ys))
	var num, den float64
	for i, y := range ys {
		num = alpha*num + (1-alpha)*y
		den = alpha*den + (1 - alpha)
		out[i] = num / den
	}
	return out
}

func TestTimeToTarget(t *testing.T) {
	st, runs := openRuns(t)
	ids := []string{"base0001", "fast0002", "resm0003"}

	// The step at which the smoothed train_loss of base0001 first reaches
	// 1.0: after the ramp, not at the lucky minibatch of step 10.
	var ys []float64
	for s := range 121 {
		y := 4 - 0.03*float64(s)
		if s == 10 {
			y = 0.5
		}
		ys = append(ys, y)
	}
	smoothStep := int64(-1)
	for i, y := range referenceEMA(ys, DefaultAlpha) {
		if y <= 1 {
			smoothStep = int64(i)
			break
		}
	}
	if smoothStep <= 100 {
		t.Fatalf("reference EMA reaches 1.0 at step %d; the test runs are wrong", smoothStep)
	}

	type want struct {
		reached     bool
		step        int64
		wall, act   float64
		best        float64 // when not reached
		speedupWall float64 // NaN: none
	}
	tests := []struct {
		name   string
		target string
		alpha  float64
		want   []want // by ids
	}{
		{"validation loss, wallclock and active time", "val_loss=2.0", DefaultAlpha, []want{
			{true, 60, 31, 31, 0, 1},
			{true, 40, 11, 11, 0, 31.0 / 11},
			{true, 80, 1091, 91, 0, 31.0 / 1091},
		}},
		{"raw train loss takes the lucky minibatch", "train_loss=1.0", 0, []want{
			{true, 10, 6, 6, 0, 1},
			{true, 120, 31, 31, 0, 6.0 / 31},
			{false, 0, 0, 0, 2, math.NaN()},
		}},
		{"smoothed train loss does not", "train_loss=1.0", DefaultAlpha, []want{
			{true, smoothStep, 1 + 0.5*float64(smoothStep), 1 + 0.5*float64(smoothStep), 0, 1},
			{false, 0, 0, 0, 0, math.NaN()},
			{false, 0, 0, 0, 0, math.NaN()},
		}},
		{"not reached: the best value, superseded points left out", "val_loss<=1.0", DefaultAlpha, []want{
			{false, 0, 0, 0, 1.65, math.NaN()},
			{false, 0, 0, 0, 1.45, math.NaN()},
			{false, 0, 0, 0, 1.9, math.NaN()},
		}},
		{"maximize", "val_loss>=2.6", 0, []want{
			{true, 0, 1, 1, 0, 1},
			{true, 0, 1, 1, 0, 1},
			{true, 0, 1, 1, 0, 1},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tg, err := ParseTarget(tt.target)
			if err != nil {
				t.Fatal(err)
			}
			c := compare(t, st, runs, Options{Targets: []Target{tg}, Alpha: tt.alpha}, ids...)
			for i, w := range tt.want {
				r := c.Runs[i].Reaches[0]
				if r.Reached != w.reached {
					t.Errorf("%s: reached = %v, want %v (%s)", ids[i], r.Reached, w.reached, r.describe())
					continue
				}
				if !w.reached {
					if w.best != 0 && !near(r.Best, w.best) {
						t.Errorf("%s: best = %v, want %v", ids[i], r.Best, w.best)
					}
					continue
				}
				if r.Step != w.step || !near(r.Wallclock, w.wall) || !near(r.Active, w.act) {
					t.Errorf("%s: step %d, wallclock %v, active %v; want %d, %v, %v", ids[i], r.Step, r.Wallclock, r.Active, w.step, w.wall, w.act)
				}
				if got := r.SpeedupWallclock; math.IsNaN(w.speedupWall) != math.IsNaN(got) || !math.IsNaN(got) && !near(got, w.speedupWall) {
					t.Errorf("%s: speed-up %v, want %v", ids[i], got, w.speedupWall)
				}
			}
		})
	}
}

func TestSpeedupBySteps(t *testing.T) {
	st, runs := openRuns(t)
	c := compare(t, st, runs, Options{Targets: []Target{{Key: "val_loss", Value: 2}}}, "base0001", "fast0002", "resm0003")
	for i, want := range []struct{ steps, active float64 }{{1, 1}, {60.0 / 40, 31.0 / 11}, {60.0 / 80, 31.0 / 91}} {
		r := c.Runs[i].Reaches[0]
		if !near(r.SpeedupSteps, want.steps) || !near(r.SpeedupActive, want.active) {
			t.Errorf("run %d: speed-up by steps %v, by active time %v; want %v, %v", i, r.SpeedupSteps, r.SpeedupActive, want.steps, want.active)
		}
	}
	// With the slow run as the baseline, the base run is faster.
	c = compare(t, st, runs, Options{Baseline: 1, Targets: []Target{{Key: "val_loss", Value: 2}}}, "base0001", "fast0002")
	if got := c.Runs[0].Reaches[0].versus(); got != "2.8× slower (1.5× more steps)" {
		t.Errorf("versus = %q", got)
	}
}

func TestValuesAt(t *testing.T) {
	st, runs := openRuns(t)
	c := compare(t, st, runs, Options{Keys: []string{"val_loss", "train_loss"}, AtSteps: []int64{50, 200}, AtTimes: []float64{30, 2000}, Alpha: DefaultAlpha},
		"base0001", "fast0002", "resm0003")
	nan := math.NaN()
	smoothed := referenceEMA(func() []float64 {
		var ys []float64
		for s := range 51 {
			y := 4 - 0.03*float64(s)
			if s == 10 {
				y = 0.5
			}
			ys = append(ys, y)
		}
		return ys
	}(), DefaultAlpha)[50]
	tests := []struct {
		id             string
		atStep, atTime []float64 // val_loss, train_loss at each step / time
	}{
		// val_loss at step 50: halfway between the evaluations at 40 and 60.
		// At 30 s: base0001 logs step s at 1+0.5s s, so between step 40
		// (21 s, 2.5) and 60 (31 s, 2.0): 2.05.
		{"base0001", []float64{2.25, smoothed, nan, nan}, []float64{2.05, 0, nan, nan}},
		{"fast0002", []float64{1.95, 0, nan, nan}, []float64{1.46, 0, nan, nan}},
		// The superseded val_loss of 1.0 at step 50 is not there: 2.45.
		{"resm0003", []float64{2.45, 0, nan, nan}, []float64{2.82, 0, nan, nan}},
	}
	for i, tt := range tests {
		r := c.Runs[i]
		check := func(what string, got, want []float64) {
			for j, w := range want {
				if w == 0 { // not checked
					continue
				}
				if math.IsNaN(w) != math.IsNaN(got[j]) || !math.IsNaN(w) && !near(got[j], w) {
					t.Errorf("%s %s[%d] = %v, want %v", tt.id, what, j, got[j], w)
				}
			}
		}
		check("at step", r.AtStep, tt.atStep)
		check("at time", r.AtTime, tt.atTime)
	}
}

func TestCompareResults(t *testing.T) {
	st, runs := openRuns(t)
	c := compare(t, st, runs, Options{}, "base0001", "resm0003")
	if strings.Join(c.Keys, ",") != "train_loss,val_loss" {
		t.Errorf("keys %v, want the train and validation loss", c.Keys)
	}
	b := c.Runs[0]
	if m := b.Metrics[1]; m.Final != 1.65 || m.FinalStep != 120 || m.Best != 1.65 || m.BestStep != 120 {
		t.Errorf("val_loss of base0001: %+v", m)
	}
	if m := b.Metrics[0]; m.Best != 0.4 && !near(m.Best, 4-0.03*120) || m.BestStep != 120 {
		t.Errorf("train_loss of base0001: best %v at %d, want the min", m.Best, m.BestStep)
	}
	if b.TokensPerSec != 1000 || !math.IsNaN(c.Runs[1].TokensPerSec) {
		t.Errorf("tokens/s %v and %v, want 1000 and NaN", b.TokensPerSec, c.Runs[1].TokensPerSec)
	}
	if r := c.Runs[1]; r.Wallclock != 1111 || r.Active != 51+60 {
		t.Errorf("resm0003: wallclock %v, active %v; want 1111 and 111", r.Wallclock, r.Active)
	}
}

func TestCompareErrors(t *testing.T) {
	st, runs := openRuns(t)
	tests := []struct {
		target string
		want   string
	}{
		{"val_los=2", `no run compared logged "val_los"; keys they logged: tokens_per_sec, train_loss, val_loss`},
		{"tokens_per_sec=1500", "cannot tell whether tokens_per_sec should go down or up; write tokens_per_sec<=1500 or tokens_per_sec>=1500"},
	}
	for _, tt := range tests {
		tg, err := ParseTarget(tt.target)
		if err != nil {
			t.Fatal(err)
		}
		_, err = Compare(context.Background(), st, []store.Run{runs["base0001"]}, Options{Targets: []Target{tg}})
		if !errors.Is(err, ErrTarget) || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("--target %s: %v; want %q", tt.target, err, tt.want)
		}
	}
	// A direction given explicitly needs no goal.
	tg, _ := ParseTarget("tokens_per_sec>=1500")
	c, err := Compare(context.Background(), st, []store.Run{runs["base0001"], runs["fast0002"]}, Options{Targets: []Target{tg}})
	if err != nil || c.Runs[0].Reaches[0].Reached || !c.Runs[1].Reaches[0].Reached {
		t.Errorf("tokens_per_sec>=1500: %v", err)
	}
	// A run that never logged the key says so.
	tg, _ = ParseTarget("tokens_per_sec>=1500")
	c, err = Compare(context.Background(), st, []store.Run{runs["base0001"], runs["resm0003"]}, Options{Targets: []Target{tg}})
	if err != nil || c.Runs[1].Reaches[0].describe() != "not logged" {
		t.Errorf("a run without the key: %v, %q", err, c.Runs[1].Reaches[0].describe())
	}
}

func TestCompareGolden(t *testing.T) {
	st, runs := openRuns(t)
	targets := []Target{{Key: "val_loss", Value: 2}, {Key: "train_loss", Value: 1}}
	c := compare(t, st, runs, Options{Targets: targets, AtTimes: []float64{30}, AtSteps: []int64{50}, Alpha: DefaultAlpha},
		"base0001", "fast0002", "resm0003")
	var text, narrow, md, js bytes.Buffer
	if err := c.Text(&text, 120); err != nil {
		t.Fatal(err)
	}
	golden(t, "compare.txt", text.Bytes())
	if err := c.Text(&narrow, 70); err != nil {
		t.Fatal(err)
	}
	golden(t, "compare-narrow.txt", narrow.Bytes())
	for _, line := range strings.Split(narrow.String(), "\n") {
		if n := len([]rune(line)); n > 70 {
			t.Errorf("line of %d columns in a 70-column terminal: %q", n, line)
		}
	}
	if err := c.Markdown(&md); err != nil {
		t.Fatal(err)
	}
	golden(t, "compare.md", md.Bytes())
	if err := c.JSON(&js); err != nil {
		t.Fatal(err)
	}
	golden(t, "compare.json", js.Bytes())
	var parsed map[string]any
	if err := json.Unmarshal(js.Bytes(), &parsed); err != nil {
		t.Fatalf("compare --json is not JSON: %v", err)
	}
}

func TestCompareNonFiniteJSON(t *testing.T) {
	st, runs := openRuns(t)
	c := compare(t, st, runs, Options{Targets: []Target{{Key: "val_loss", Value: 4, Goal: runfmt.GoalMinimize}}}, "base0001", "fast0002")
	// Both reach 4 at step 0, at 1 s and 1 s; make the run reach it at 0 s.
	c.Runs[1].Reaches[0].SpeedupWallclock = math.Inf(1)
	c.Runs[0].TokensPerSec = math.NaN()
	var js bytes.Buffer
	if err := c.JSON(&js); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(js.String(), `"wallclock": "Infinity"`) {
		t.Errorf("infinite speed-up not written as \"Infinity\":\n%s", js.String())
	}
	if !strings.Contains(js.String(), `"tokens_per_sec": null`) {
		t.Errorf("missing tokens/s not null:\n%s", js.String())
	}
}
