package series

import (
	"math"
	"slices"
	"testing"
)

func TestDownsampleKeepsSpike(t *testing.T) {
	t.Parallel()
	const n = 10_000_000
	xs := make([]float64, n)
	ys := make([]float64, n)
	for i := range xs {
		xs[i] = float64(i)
		ys[i] = 2 + math.Sin(float64(i)/1e5)*0.1
	}
	ys[7_654_321] = 50 // a loss spike of a single step
	ys[1_234_567] = math.NaN()
	ox, oy := Downsample(xs, ys, 1000)
	if len(ox) > 4*1000+8 {
		t.Fatalf("%d points for 1000 buckets", len(ox))
	}
	if !slices.IsSorted(ox) {
		t.Fatal("downsampled x not ascending")
	}
	if i := slices.Index(oy, 50); i < 0 || ox[i] != 7_654_321 {
		t.Errorf("the spike at step 7654321 vanished")
	}
	if !slices.ContainsFunc(oy, math.IsNaN) {
		t.Errorf("the NaN vanished")
	}
	if ox[0] != 0 || ox[len(ox)-1] != n-1 {
		t.Errorf("ends %v … %v, want the first and last point", ox[0], ox[len(ox)-1])
	}
	// Every bucket's extremes survive: the extremes of the output over any
	// bucket equal those of the input.
	lo, hi := slices.Min(ys[:10_000]), slices.Max(ys[:10_000])
	var olo, ohi = math.Inf(1), math.Inf(-1)
	for i, x := range ox {
		if x < 10_000 {
			olo, ohi = math.Min(olo, oy[i]), math.Max(ohi, oy[i])
		}
	}
	if olo != lo || ohi != hi {
		t.Errorf("first bucket: min/max %v/%v, want %v/%v", olo, ohi, lo, hi)
	}
}

func TestDownsampleSmallAndUneven(t *testing.T) {
	t.Parallel()
	xs, ys := []float64{0, 1, 2}, []float64{3, 2, 1}
	if ox, oy := Downsample(xs, ys, 10); !slices.Equal(ox, xs) || !slices.Equal(oy, ys) {
		t.Errorf("small curve changed: %v %v", ox, oy)
	}
	// Points bunched at both ends of the x range, and repeated x.
	var bx, by []float64
	for i := range 5000 {
		bx, by = append(bx, float64(i%3)), append(by, float64(i))
	}
	for i := range 5000 {
		bx, by = append(bx, 1e6+float64(i)), append(by, float64(-i))
	}
	slices.Sort(bx)
	ox, oy := Downsample(bx, by, 50)
	if len(ox) > 4*50+8 || !slices.IsSorted(ox) || slices.Min(oy) != -4999 || slices.Max(oy) != 4999 {
		t.Errorf("uneven curve: %d points, min %v max %v", len(ox), slices.Min(oy), slices.Max(oy))
	}
}

func TestEMA(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		xs    []float64
		ys    []float64
		alpha float64
		tw    bool
		want  []float64
	}{
		{"no smoothing", []float64{0, 1, 2}, []float64{1, 5, 3}, 0, false, []float64{1, 5, 3}},
		{"debiased start", []float64{0, 1}, []float64{1, 2}, 0.5, false, []float64{1, (0.25 + 1) / 0.75}},
		{"constant stays constant", []float64{0, 1, 2, 3}, []float64{2, 2, 2, 2}, 0.9, false, []float64{2, 2, 2, 2}},
		{"non-finite passes through", []float64{0, 1, 2}, []float64{1, math.NaN(), 1}, 0.5, false, []float64{1, math.NaN(), 1}},
		{"time-weighted, even spacing = plain", []float64{0, 10, 20}, []float64{1, 2, 3}, 0.5, true, EMA(nil, []float64{1, 2, 3}, 0.5, false)},
	}
	for _, tt := range tests {
		got := EMA(tt.xs, tt.ys, tt.alpha, tt.tw)
		for i := range got {
			if !(math.Abs(got[i]-tt.want[i]) < 1e-12 || math.IsNaN(got[i]) && math.IsNaN(tt.want[i])) {
				t.Errorf("%s: %v, want %v", tt.name, got, tt.want)
				break
			}
		}
	}
	// A long gap in time lets the average forget the past: after a pause,
	// the time-weighted average follows the new value more closely.
	xs := []float64{0, 1, 2, 3, 100}
	ys := []float64{0, 0, 0, 0, 1}
	if tw, plain := EMA(xs, ys, 0.9, true)[4], EMA(xs, ys, 0.9, false)[4]; !(tw > plain) || tw < 0.5 {
		t.Errorf("after a gap: time-weighted %v, plain %v", tw, plain)
	}
}

func TestRunningMean(t *testing.T) {
	t.Parallel()
	got := RunningMean([]float64{1, 2, 3, math.Inf(1), 4}, 2)
	want := []float64{1, 1.5, 2.5, math.Inf(1), 3.5}
	if !slices.Equal(got, want) {
		t.Errorf("RunningMean = %v, want %v", got, want)
	}
}

func TestInterpResample(t *testing.T) {
	t.Parallel()
	xs, ys := []float64{0, 10, 10, 20}, []float64{0, 1, 2, 4}
	tests := []struct {
		x    float64
		want float64
		ok   bool
	}{
		{0, 0, true}, {5, 0.5, true}, {10, 2, true}, {15, 3, true}, {20, 4, true}, {-1, 0, false}, {21, 0, false},
	}
	for _, tt := range tests {
		got, ok := Interp(xs, ys, tt.x)
		if ok != tt.ok || ok && got != tt.want {
			t.Errorf("Interp(%v) = %v, %v; want %v, %v", tt.x, got, ok, tt.want, tt.ok)
		}
	}
	r := Resample(xs, ys, []float64{-5, 5, 25})
	if !math.IsNaN(r[0]) || r[1] != 0.5 || !math.IsNaN(r[2]) {
		t.Errorf("Resample = %v", r)
	}
}

func TestFirstReach(t *testing.T) {
	t.Parallel()
	ys := []float64{5, 4, 2.5, 1.9, 2.1, 1.5}
	if i, ok := FirstReach(ys, 2, true); !ok || i != 3 {
		t.Errorf("lower: %d %v", i, ok)
	}
	if i, ok := FirstReach(ys, 4.5, false); !ok || i != 0 {
		t.Errorf("higher: %d %v", i, ok)
	}
	if _, ok := FirstReach(ys, 1, true); ok {
		t.Error("reached an unreached target")
	}
}

func TestAxes(t *testing.T) {
	t.Parallel()
	var p Points
	for i, tm := range []int64{1000, 2000, 5000, 9000} {
		p.Append(int64(i*10), tm, 1)
	}
	segs := []Segment{{Start: 1000, Last: 2000}, {Start: 5000, Last: 9000}}
	tests := []struct {
		axis Axis
		want []float64
	}{
		{AxisStep, []float64{0, 10, 20, 30}},
		{AxisWallclock, []float64{0, 1, 4, 8}},
		{AxisActive, []float64{0, 1, 1, 5}},
		{AxisTime, []float64{1, 2, 5, 9}},
	}
	for _, tt := range tests {
		if got := X(p, tt.axis, 1000, segs); !slices.Equal(got, tt.want) {
			t.Errorf("%s: %v, want %v", tt.axis, got, tt.want)
		}
	}
}
