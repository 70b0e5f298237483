package series

import (
	"math"
	"slices"
	"testing"
)

func near(a, b float64) bool {
	if math.IsNaN(a) || math.IsNaN(b) {
		return math.IsNaN(a) && math.IsNaN(b)
	}
	return math.Abs(a-b) < 1e-9
}

func nearAll(a, b []float64) bool {
	return len(a) == len(b) && func() bool {
		for i := range a {
			if !near(a[i], b[i]) {
				return false
			}
		}
		return true
	}()
}

func TestAggregate(t *testing.T) {
	nan, inf := math.NaN(), math.Inf(1)
	tests := []struct {
		name           string
		xs, ys         [][]float64
		grid           []float64
		mean, std      []float64
		min, max       []float64
		n, nans        []int
		members, diver int
	}{
		{
			name: "by step, same steps",
			xs:   [][]float64{{0, 1, 2}, {0, 1, 2}, {0, 1, 2}},
			ys:   [][]float64{{1, 2, 3}, {3, 4, 5}, {2, 3, 4}},
			grid: []float64{0, 1, 2},
			mean: []float64{2, 3, 4}, std: []float64{1, 1, 1},
			min: []float64{1, 2, 3}, max: []float64{3, 4, 5},
			n: []int{3, 3, 3}, nans: []int{0, 0, 0}, members: 3,
		},
		{
			name: "interpolated between logged points (time axis)",
			xs:   [][]float64{{0, 10}, {0, 4, 8}},
			ys:   [][]float64{{0, 10}, {2, 6, 10}},
			grid: []float64{0, 5, 10},
			// member 1 at 5 is 5; member 2 at 5 is 7; member 2 ends at 8
			mean: []float64{1, 6, 10}, std: []float64{math.Sqrt2, math.Sqrt2, 0},
			min: []float64{0, 5, 10}, max: []float64{2, 7, 10},
			n: []int{2, 2, 1}, nans: []int{0, 0, 0}, members: 2,
		},
		{
			name: "a member that diverged is counted, not averaged",
			xs:   [][]float64{{0, 1, 2, 3}, {0, 1, 2, 3}},
			ys:   [][]float64{{4, 3, 2, 1}, {4, 3, nan, nan}},
			grid: []float64{0, 1, 2, 3},
			mean: []float64{4, 3, 2, 1}, std: []float64{0, 0, 0, 0},
			min: []float64{4, 3, 2, 1}, max: []float64{4, 3, 2, 1},
			n: []int{2, 2, 1, 1}, nans: []int{0, 0, 1, 1}, members: 2, diver: 1,
		},
		{
			name: "an infinity next to a grid point is not interpolated away",
			xs:   [][]float64{{0, 2}, {0, 2}},
			ys:   [][]float64{{1, 1}, {1, inf}},
			grid: []float64{0, 1, 2},
			mean: []float64{1, 1, 1}, std: []float64{0, 0, 0},
			min: []float64{1, 1, 1}, max: []float64{1, 1, 1},
			n: []int{2, 1, 1}, nans: []int{0, 1, 1}, members: 2, diver: 1,
		},
		{
			name: "a group of one",
			xs:   [][]float64{{0, 1}},
			ys:   [][]float64{{5, 6}},
			grid: []float64{0, 0.5, 1, 2},
			mean: []float64{5, 5.5, 6, nan}, std: []float64{0, 0, 0, nan},
			min: []float64{5, 5.5, 6, nan}, max: []float64{5, 5.5, 6, nan},
			n: []int{1, 1, 1, 0}, nans: []int{0, 0, 0, 0}, members: 1,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := aggregate(tt.xs, tt.ys, tt.grid)
			for _, c := range []struct {
				what      string
				got, want []float64
			}{{"mean", b.Mean, tt.mean}, {"std", b.Std, tt.std}, {"min", b.Min, tt.min}, {"max", b.Max, tt.max}} {
				if !nearAll(c.got, c.want) {
					t.Errorf("%s = %v, want %v", c.what, c.got, c.want)
				}
			}
			if !slices.Equal(b.N, tt.n) || !slices.Equal(b.NaN, tt.nans) {
				t.Errorf("n = %v, nan = %v; want %v, %v", b.N, b.NaN, tt.n, tt.nans)
			}
			if b.Members != tt.members || b.Diverged != tt.diver {
				t.Errorf("members %d diverged %d, want %d %d", b.Members, b.Diverged, tt.members, tt.diver)
			}
			for i := range b.X {
				if b.N[i] > 0 && (b.Lo(i, false) > b.Mean[i] || b.Hi(i, true) < b.Mean[i]) {
					t.Errorf("band at %d does not hold the mean", i)
				}
			}
		})
	}
}

func TestAlignMatchesInterp(t *testing.T) {
	xs := []float64{0, 1, 1, 3, 7, 10}
	ys := []float64{5, 4, 3.5, 2, 1, 0.5}
	grid := []float64{-1, 0, 0.5, 1, 2, 6.9, 10, 11}
	got := Align(xs, ys, grid, nil)
	for i, x := range grid {
		want, _ := Interp(xs, ys, x)
		if !near(got[i], want) {
			t.Errorf("at %g: %g, Interp says %g", x, got[i], want)
		}
	}
}

func TestGrids(t *testing.T) {
	for _, tc := range []struct {
		in   [][]float64
		want []float64
	}{
		{[][]float64{{0, 2, 4}, {1, 2, 5}}, []float64{0, 1, 2, 4, 5}},
		{[][]float64{{0, 1, 1, 2}, {0, 1, 2}, {0, 1, 2}}, []float64{0, 1, 2}}, // a sweep's shared steps, a repeat
		{[][]float64{{5, 1, 3}, {2}}, []float64{1, 2, 3, 5}},                  // not ascending: sorted
		{[][]float64{{-1, 7}, {}, {8, 9}}, []float64{-1, 7, 8, 9}},
		{nil, []float64{}},
	} {
		if g := GridOf(tc.in...); !slices.Equal(g, tc.want) {
			t.Errorf("GridOf(%v) = %v, want %v", tc.in, g, tc.want)
		}
	}
	if g := FixedGrid(0, 10, 6); !slices.Equal(g, []float64{0, 2, 4, 6, 8, 10}) {
		t.Errorf("FixedGrid = %v", g)
	}
	if g := FixedGrid(3, 3, 5); !slices.Equal(g, []float64{3}) {
		t.Errorf("FixedGrid of one x = %v", g)
	}
}

func TestSummarize(t *testing.T) {
	tests := []struct {
		in                  []float64
		n, nan              int
		mean, std, min, max float64
	}{
		{[]float64{1, 2, 3}, 3, 0, 2, 1, 1, 3},
		{[]float64{7}, 1, 0, 7, 0, 7, 7},
		{[]float64{1, math.NaN(), 3, math.Inf(1)}, 2, 2, 2, math.Sqrt2, 1, 3},
		{[]float64{math.NaN()}, 0, 1, math.NaN(), math.NaN(), math.NaN(), math.NaN()},
		{nil, 0, 0, math.NaN(), math.NaN(), math.NaN(), math.NaN()},
	}
	for _, tt := range tests {
		s := Summarize(tt.in)
		if s.N != tt.n || s.NaN != tt.nan || !near(s.Mean, tt.mean) || !near(s.Std, tt.std) || !near(s.Min, tt.min) || !near(s.Max, tt.max) {
			t.Errorf("Summarize(%v) = %+v", tt.in, s)
		}
	}
}

// BenchmarkAggregate aggregates 10 members of 100k points on a grid of
// 700 x, as a chart of a group does.
func BenchmarkAggregate(b *testing.B) {
	const n = 100_000
	xs, ys := make([]float64, n), make([]float64, n)
	for i := range xs {
		xs[i], ys[i] = float64(i), 1+math.Exp(-float64(i)/n)
	}
	grid := FixedGrid(0, n-1, 700)
	for b.Loop() {
		a := NewAggregator(grid)
		for range 10 {
			a.Add(xs, ys)
		}
		a.Band()
	}
}

func TestBandDecimate(t *testing.T) {
	grid := FixedGrid(0, 999, 1000)
	xs, ys := make([][]float64, 2), make([][]float64, 2)
	for k := range xs {
		xs[k], ys[k] = grid, make([]float64, len(grid))
		for i := range grid {
			ys[k][i] = 4 - float64(i)*0.003 + float64(k)
		}
	}
	ys[0][500] = 50 // a spike of the mean that decimating must keep
	full := aggregate(xs, ys, grid)
	for _, tc := range []struct {
		name    string
		buckets int
		max     int
	}{
		{"small enough", 300, 1000},
		{"to about 4·buckets", 25, 110},
		{"no buckets", 0, 1000},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := full.Decimate(tc.buckets)
			if len(d.X) > tc.max || len(d.Mean) != len(d.X) || len(d.Std) != len(d.X) || len(d.N) != len(d.X) {
				t.Fatalf("%d points, %d means", len(d.X), len(d.Mean))
			}
			if d.Members != 2 || d.Diverged != 0 {
				t.Errorf("members %d diverged %d", d.Members, d.Diverged)
			}
			spike := false
			for i, x := range d.X {
				j := int(x)
				if !near(d.Mean[i], full.Mean[j]) || !near(d.Std[i], full.Std[j]) || !near(d.Max[i], full.Max[j]) || d.N[i] != full.N[j] {
					t.Fatalf("point %d at x %v is not the band's at that x", i, x)
				}
				spike = spike || x == 500
			}
			if !spike {
				t.Error("the spike at x 500 was lost")
			}
		})
	}
}

// aggregate adds the curves xs[k], ys[k] to an Aggregator on grid, as the
// server adds a group's members, and returns their band.
func aggregate(xs, ys [][]float64, grid []float64) Band {
	a := NewAggregator(grid)
	for k := range xs {
		a.Add(xs[k], ys[k])
	}
	return a.Band()
}
