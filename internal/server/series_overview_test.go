package server

import (
	"context"
	"math"
	"testing"

	"github.com/runlog/runlog/internal/runfmt"
	"github.com/runlog/runlog/internal/runfmt/runfmttest"
)

// TestSeriesFromOverview: a series long enough for its chart to be drawn
// from the store's overview answers with points of the series, the
// spike and the NaN kept, the first and last point, the right total,
// without decoding it into the cache; a zoomed range and a live append
// are answered right; the same request on another axis decodes it.
func TestSeriesFromOverview(t *testing.T) {
	home := t.TempDir()
	const n = 30_000
	value := func(step int) float64 {
		switch step {
		case 12_345:
			return 99 // a spike
		case 23_456:
			return math.NaN()
		}
		return 3 * math.Exp(-float64(step)/10_000)
	}
	log := runfmttest.New(runfmt.Header{Format: 1, ID: "long", Name: "long", Time: 1764201600})
	for step := range n {
		log.Point(int64(step), 1764201600+float64(step)/100, "loss", value(step))
	}
	log.WriteRun(t, home, "long")
	s, ts := newTestServer(t, home, Options{})
	get := func(query string) seriesAnswer {
		t.Helper()
		return decode[seriesAnswer](t, do(t, ts.URL, scenario{url: "/api/v1/runs/long/series?keys=loss&" + query}))
	}
	check := func(what string, a seriesAnswer, total int, first, last int64) {
		t.Helper()
		sr := a.Series[0]
		if sr.Total != total || !sr.Downsampled || len(sr.X) > 5*10 || len(sr.X) < 10 {
			t.Fatalf("%s: total %d (want %d), downsampled %v, %d points", what, sr.Total, total, sr.Downsampled, len(sr.X))
		}
		if sr.Steps[0] != first || sr.Steps[len(sr.Steps)-1] != last {
			t.Errorf("%s: steps %d to %d, want %d to %d", what, sr.Steps[0], sr.Steps[len(sr.Steps)-1], first, last)
		}
		for i, y := range sr.Y {
			st := sr.Steps[i]
			if sr.X[i] != float64(st) || i > 0 && st <= sr.Steps[i-1] {
				t.Fatalf("%s: point %d at x %v, step %d", what, i, sr.X[i], st)
			}
			if want := value(int(st)); math.IsNaN(want) && y != "NaN" || !math.IsNaN(want) && y != want {
				t.Fatalf("%s: step %d: %v, not the series' value %v", what, st, y, want)
			}
		}
	}
	// points=40: 10 buckets, each of 46 blocks of 64 points.
	a := get("points=40")
	check("whole series", a, n, 0, n-1)
	found := map[any]bool{}
	for _, y := range a.Series[0].Y {
		found[y] = true
	}
	if !found[99.0] || !found["NaN"] {
		t.Errorf("the spike or the NaN vanished: %v", a.Series[0].Y)
	}
	if got := len(s.series.byKey); got != 0 {
		t.Errorf("%d series decoded into the cache, want none", got)
	}
	check("zoomed", get("points=40&from=1000.5&to=25000"), 24_000, 1001, 25_000)

	// A live append: the next answer ends at the new last point.
	for step := n; step < n+5000; step++ {
		log.Point(int64(step), 1764201600+float64(step)/100, "loss", value(step))
	}
	log.WriteRun(t, home, "long")
	if _, err := s.index(context.Background(), newWarnings(t.Logf)); err != nil {
		t.Fatal(err)
	}
	check("after an append", get("points=40"), n+5000, 0, n+5000-1)

	// Few blocks a bucket, or another axis: decoded, as before.
	if sr := get("points=4000").Series[0]; sr.Total != n+5000 || len(s.series.byKey) != 1 {
		t.Errorf("points=4000: total %d, %d decoded series", sr.Total, len(s.series.byKey))
	}
	if sr := get("points=40&x=wallclock").Series[0]; sr.Total != n+5000 {
		t.Errorf("wallclock: total %d", sr.Total)
	}
}
