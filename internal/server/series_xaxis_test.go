package server

import (
	"math"
	"net/url"
	"testing"

	"github.com/runlog/runlog"
	"github.com/runlog/runlog/internal/series"
)

// seedXAxisRun logs a run whose series can be x-axes or cannot: tokens
// (every 10th step from 10 to 90, growing as step², so that interpolating
// between its points is visible), epoch (flat, then up), wiggle (down at
// step 50) and broken (NaN at step 30), beside a loss at every step 0–99.
func seedXAxisRun(t *testing.T) (home, id string) {
	t.Helper()
	home = t.TempDir()
	r, err := runlog.Init(runlog.Options{Home: home, Name: "xaxis", DisableGit: true, URL: "-"})
	if err != nil {
		t.Fatal(err)
	}
	for step := int64(0); step < 100; step++ {
		vals := map[string]float64{"loss": float64(1000 - step), "epoch": float64(step / 50)}
		if step%10 == 0 && step >= 10 {
			vals["tokens"] = float64(step * step)
			vals["wiggle"] = float64(step)
			if step == 50 {
				vals["wiggle"] = 1
			}
			vals["broken"] = float64(step)
			if step == 30 {
				vals["broken"] = math.NaN()
			}
		}
		r.LogStep(step, vals)
	}
	if err := r.Finish(0); err != nil {
		t.Fatal(err)
	}
	return home, r.ID()
}

func TestSeriesOnASeriesAxis(t *testing.T) {
	home, id := seedXAxisRun(t)
	_, ts := newTestServer(t, home, Options{})
	base := "/api/v1/runs/" + id + "/series?keys=loss&points=0&"
	xs := func(want func(s int64) float64, from, to int64) func(t *testing.T, body []byte) {
		return func(t *testing.T, body []byte) {
			s := decode[seriesAnswer](t, body).Series[0]
			if n := int(to - from + 1); s.Total != n || len(s.X) != n {
				t.Fatalf("total %d, %d points; want %d (steps %d–%d)", s.Total, len(s.X), n, from, to)
			}
			for i, x := range s.X {
				if step := s.Steps[i]; step != from+int64(i) || math.Abs(x-want(step)) > 1e-9 {
					t.Fatalf("point %d: step %d at x %v, want step %d at %v", i, step, x, from+int64(i), want(from+int64(i)))
				}
			}
		}
	}
	// tokens between its points: linear between (10k)² and (10k+10)².
	tokens := func(s int64) float64 {
		lo := s / 10 * 10
		if lo == s {
			return float64(s * s)
		}
		hi := lo + 10
		return float64(lo*lo) + float64(s-lo)/10*float64(hi*hi-lo*lo)
	}
	runScenarios(t, ts.URL, []scenario{
		{name: "x=series: interpolated, points outside its steps dropped", url: base + "x=series:tokens", contains: []string{`"x":"series:tokens"`},
			check: xs(tokens, 10, 90)},
		{name: "xkey= is the same", url: base + "xkey=tokens", contains: []string{`"x":"series:tokens"`}, check: xs(tokens, 10, 90)},
		{name: "a series that stays flat is monotone", url: base + "x=series:epoch", check: xs(func(s int64) float64 { return float64(s / 50) }, 0, 99)},
		{name: "x range in the series' unit", url: base + "x=series:tokens&from=400&to=900", check: xs(tokens, 20, 30)},
		{name: "downsampled", url: "/api/v1/runs/" + id + "/series?keys=loss&x=series:tokens&points=8", check: func(t *testing.T, body []byte) {
			s := decode[seriesAnswer](t, body).Series[0]
			if s.Total != 81 || !s.Downsampled || len(s.X) > 12 || s.X[0] != 100 || s.X[len(s.X)-1] != 8100 {
				t.Errorf("total %d, downsampled %v, x %v", s.Total, s.Downsampled, s.X)
			}
		}},
		{name: "the x-series itself", url: base + "x=series:tokens&keys=tokens", check: func(t *testing.T, body []byte) {
			s := decode[seriesAnswer](t, body).Series[1]
			if s.Total != 9 || s.X[0] != 100 || s.X[8] != 8100 {
				t.Errorf("tokens on tokens: %+v", s)
			}
		}},
		{name: "a run without the x-series: empty series", url: base + "x=series:nothing", check: func(t *testing.T, body []byte) {
			if s := decode[seriesAnswer](t, body).Series[0]; s.Total != 0 || len(s.X) != 0 {
				t.Errorf("%+v", s)
			}
		}},
		{name: "a key with odd characters", url: base + "x=" + url.QueryEscape("series:<b>"), contains: []string{`"x":"series:\u003cb\u003e"`}},
		{name: "going down is refused", url: base + "x=series:wiggle", status: 400, contains: []string{"goes down from 40 at step 40 to 1 at step 50", "never decreases"}},
		{name: "NaN is refused", url: base + "x=series:broken", status: 400, contains: []string{"at step 30 is NaN"}},
		{name: "no key", url: base + "x=series:", status: 400, contains: []string{"name the series"}},
		{name: "unknown axis names series:", url: base + "x=tokens", status: 400, contains: []string{`series:\u003ckey\u003e`}},
	})
}

func TestOnSeries(t *testing.T) {
	pts := func(steps []int64, vals []float64) series.Points { return series.Points{Steps: steps, Values: vals} }
	for _, tc := range []struct {
		name      string
		p, x      series.Points
		wantX     []float64
		wantSteps []int64
	}{
		{"no x points", pts([]int64{1, 2}, []float64{5, 6}), pts(nil, nil), nil, nil},
		{"same steps", pts([]int64{1, 2}, []float64{5, 6}), pts([]int64{1, 2}, []float64{10, 20}), []float64{10, 20}, []int64{1, 2}},
		{"between and outside", pts([]int64{0, 1, 2, 3, 4, 5}, []float64{0, 0, 0, 0, 0, 0}), pts([]int64{1, 4}, []float64{10, 40}),
			[]float64{10, 20, 30, 40}, []int64{1, 2, 3, 4}},
		{"repeated x steps take the last", pts([]int64{2, 3}, []float64{0, 0}), pts([]int64{2, 2, 4}, []float64{1, 2, 4}), []float64{2, 3}, []int64{2, 3}},
		{"one x point", pts([]int64{1, 2, 3}, []float64{0, 0, 0}), pts([]int64{2}, []float64{7}), []float64{7}, []int64{2}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := onSeries(tc.p, tc.x)
			if len(a.xs) != len(tc.wantX) || len(a.steps) != len(tc.wantSteps) || len(a.ys) != len(a.xs) {
				t.Fatalf("x %v steps %v, want %v %v", a.xs, a.steps, tc.wantX, tc.wantSteps)
			}
			for i := range a.xs {
				if a.xs[i] != tc.wantX[i] || a.steps[i] != tc.wantSteps[i] {
					t.Fatalf("x %v steps %v, want %v %v", a.xs, a.steps, tc.wantX, tc.wantSteps)
				}
			}
		})
	}
}

func TestMonotone(t *testing.T) {
	for _, tc := range []struct {
		name string
		vals []float64
		ok   bool
	}{
		{"empty", nil, true},
		{"rising", []float64{1, 2, 3}, true},
		{"flat", []float64{2, 2, 2}, true},
		{"down", []float64{1, 3, 2}, false},
		{"NaN", []float64{1, math.NaN()}, false},
		{"infinite", []float64{1, math.Inf(1)}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			steps := make([]int64, len(tc.vals))
			for i := range steps {
				steps[i] = int64(i)
			}
			if err := monotone(series.Points{Steps: steps, Values: tc.vals}); (err == nil) != tc.ok {
				t.Errorf("monotone(%v) = %v", tc.vals, err)
			}
		})
	}
}
