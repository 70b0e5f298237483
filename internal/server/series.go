package server

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"sort"
	"strconv"
	"strings"

	"github.com/runlog/runlog/internal/series"
	"github.com/runlog/runlog/internal/store"
	"github.com/runlog/runlog/internal/summary"
)

// maxSeriesKeys bounds the series of one request.
const maxSeriesKeys = 64

// getSeries answers points of a run's series on an x-axis, within an
// x-range, downsampled to about the number of points asked for
// (GET /api/v1/runs/{id}/series?keys=a,b&x=step&from=&to=&points=2000).
//
// Downsampling is the charts' M4 (series.Downsample): each of points/4
// equal slices of the range keeps its first, lowest, highest and last
// point, so a chart drawn from the answer looks like one drawn from every
// point and no spike disappears. Keys the run did not log come back empty
// (total 0): a compare view asks every run for the same keys.
//
// x=series:<key> (or xkey=<key>) puts the points on a logged series that
// never decreases, such as tokens_seen (onSeries).
func (s *Server) getSeries(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	p := r.URL.Query()
	var keys []string
	for _, v := range p["keys"] {
		for _, k := range strings.Split(v, ",") {
			if k != "" {
				keys = append(keys, k)
			}
		}
	}
	keys = append(keys, p["key"]...) // one key each, for keys with commas
	if len(keys) == 0 {
		return badRequest("keys: name the series, comma-separated: ?keys=train_loss,val_loss")
	}
	if len(keys) > maxSeriesKeys {
		return badRequest("keys: at most %d series at once", maxSeriesKeys)
	}
	axis := series.AxisStep
	xkey := p.Get("xkey")
	if v := p.Get("x"); strings.HasPrefix(v, xSeriesPrefix) {
		xkey = strings.TrimPrefix(v, xSeriesPrefix)
		if xkey == "" {
			return badRequest("x %q: name the series after %q: x=series:tokens_seen", v, xSeriesPrefix)
		}
	} else if v != "" {
		a, ok := series.ParseAxis(v)
		if !ok {
			return badRequest("x %q: use step, wallclock, active, time or series:<key>", v)
		}
		axis = a
	}
	from, to := math.Inf(-1), math.Inf(1)
	for name, dst := range map[string]*float64{"from": &from, "to": &to} {
		if v := p.Get(name); v != "" {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil || math.IsNaN(f) {
				return badRequest("%s %q: give a number in the x-axis' unit", name, v)
			}
			*dst = f
		}
	}
	points, err := intParam(p.Get("points"), 2000, 0, 1_000_000)
	if err != nil {
		return badRequest("points: %v", err)
	}
	run, err := s.resolve(ctx, r.PathValue("id"))
	if err != nil {
		return err
	}
	gen := s.gens.of(run.ID)
	cacheKey := fmt.Sprintf("%s\x00%d\x00%s\x00%s\x00%q\x00%v\x00%v\x00%d", run.ID, gen, axis, xkey, keys, from, to, points)
	if body, ok := s.seriesBodies.get(cacheKey); ok {
		writeRawJSON(w, http.StatusOK, body)
		return nil
	}
	enc := seriesEncoder{buf: make([]byte, 0, 64<<10)}
	axisName := string(axis)
	var xs *series.Points // the x-series, when the x-axis is one
	if xkey != "" {
		axisName = xSeriesPrefix + xkey
		e, err := s.series.get(ctx, s.db, run, xkey, gen)
		switch {
		case errors.Is(err, store.ErrNotFound):
			// A run without the x-series has no points on that axis: its
			// series come back empty, as keys it did not log do.
		case err != nil:
			return err
		default:
			if err := monotone(e.pts); err != nil {
				return badRequest("x series %q: %v: only a series that never decreases (tokens_seen, epoch) can be an x-axis", xkey, err)
			}
			xs = &e.pts
		}
	}
	enc.start(axisName)
	if xkey == "" && (axis == series.AxisWallclock || axis == series.AxisTime) {
		segs, err := summary.Segments(ctx, s.db, run.ID)
		if err != nil {
			return err
		}
		enc.resumes = series.ResumeXs(axis, int64(math.Round(run.Start*1000)), segs)
	}
	long, err := s.longSeries(ctx, run.ID, keys, axis, xkey, points)
	if err != nil {
		return err
	}
	for i, key := range keys {
		if long[key] {
			done, err := s.seriesFromOverview(ctx, &enc, i, run.ID, key, from, to, points)
			if err != nil {
				return err
			}
			if done {
				continue
			}
		}
		e, err := s.series.get(ctx, s.db, run, key, gen)
		if errors.Is(err, store.ErrNotFound) || xkey != "" && xs == nil {
			enc.series(i, key, 0, false, nil, nil, nil)
			continue
		}
		if err != nil {
			return err
		}
		var a *axisData
		if xkey != "" {
			a = onSeries(e.pts, *xs)
		} else {
			a = s.series.axis(e, axis)
		}
		lo := sort.SearchFloat64s(a.xs, from)
		hi := len(a.xs)
		if !math.IsInf(to, 1) {
			hi = sort.Search(len(a.xs), func(i int) bool { return a.xs[i] > to })
		}
		hi = max(hi, lo)
		xs, ys, steps := a.xs[lo:hi], a.ys[lo:hi], a.steps[lo:hi]
		total := len(xs)
		if points > 0 && total > points {
			ox, oy := series.Downsample(xs, ys, (points+3)/4)
			if len(ox) < total {
				steps = stepsOf(xs, ys, steps, ox, oy)
				xs, ys = ox, oy
			}
		}
		enc.series(i, key, total, len(xs) < total, xs, ys, steps)
	}
	enc.end()
	s.seriesBodies.put(cacheKey, enc.buf)
	writeRawJSON(w, http.StatusOK, enc.buf)
	return nil
}

// longSeries returns the keys whose charts are drawn from the store's
// overview (store.Overview) rather than from their points: on the step
// axis, series long enough that each of the points/4 buckets of the
// answer holds at least overviewBlocks blocks of the overview. Their
// first chart then reads a sixteenth of their points, and they take no
// room in the cache of decoded series.
func (s *Server) longSeries(ctx context.Context, runID string, keys []string, axis series.Axis, xkey string, points int) (map[string]bool, error) {
	if axis != series.AxisStep || xkey != "" || points <= 0 {
		return nil, nil
	}
	found, _, err := s.db.FindSeries(ctx, runID, store.SeriesQuery{Keys: keys, Limit: len(keys)})
	if err != nil {
		return nil, err
	}
	long := map[string]bool{}
	for _, f := range found {
		if f.Stats.Count >= int64(overviewBuckets(points)*overviewBlocks*series.OverviewBlock) {
			long[f.Key] = true
		}
	}
	return long, nil
}

// overviewBlocks is the fewest overview blocks a bucket of the answer must
// hold for it to be drawn from the overview: a block goes whole to one
// bucket, so a bucket's edge moves by at most a quarter of its width.
const overviewBlocks = 4

// overviewBuckets returns the buckets of an answer of about points points.
func overviewBuckets(points int) int { return (points + 3) / 4 }

// seriesFromOverview answers one series from the store's overview of the
// steps from from to to, downsampled to about points points, and says
// whether it did: a range that holds too few blocks is left to the
// decoded points.
func (s *Server) seriesFromOverview(ctx context.Context, enc *seriesEncoder, i int, runID, key string, from, to float64, points int) (bool, error) {
	ov, err := s.db.Overview(ctx, runID, key, stepAtOrAfter(from), stepAtOrBefore(to))
	if errors.Is(err, store.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	buckets := overviewBuckets(points)
	if len(ov.Sizes) < buckets*overviewBlocks {
		return false, nil
	}
	total := ov.Count()
	pts := ov.Downsample(buckets)
	xs := make([]float64, pts.Len())
	for j, st := range pts.Steps {
		xs[j] = float64(st)
	}
	enc.series(i, key, total, pts.Len() < total, xs, pts.Values, pts.Steps)
	return true, nil
}

// stepAtOrAfter returns the first step at or after x.
func stepAtOrAfter(x float64) int64 { return stepNear(x, math.Ceil) }

// stepAtOrBefore returns the last step at or before x.
func stepAtOrBefore(x float64) int64 { return stepNear(x, math.Floor) }

// stepNear rounds x to a step with round, the infinities to the ends of
// int64.
func stepNear(x float64, round func(float64) float64) int64 {
	switch {
	case x <= math.MinInt64:
		return math.MinInt64
	case x >= math.MaxInt64:
		return math.MaxInt64
	}
	return int64(round(x))
}

// xSeriesPrefix starts an x-axis that is a logged series: x=series:tokens_seen.
const xSeriesPrefix = "series:"

// monotone says why the values of p, in step order, cannot be an x-axis:
// a value that is not finite, or one lower than the one before it.
func monotone(p series.Points) error {
	for i, v := range p.Values {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return fmt.Errorf("its value at step %d is %v", p.Steps[i], v)
		}
		if i > 0 && v < p.Values[i-1] {
			return fmt.Errorf("it goes down from %v at step %d to %v at step %d", p.Values[i-1], p.Steps[i-1], v, p.Steps[i])
		}
	}
	return nil
}

// onSeries places the points of p on the x-axis that the monotone series
// x makes: the x of a point is x's value at the point's step, interpolated
// linearly between x's points around it. Points before x's first step or
// after its last have no x and are left out. Both are in step order, so
// the result is in x order. It is computed per request, not cached: one
// walk over both series, cheaper than the downsampling that follows.
func onSeries(p, x series.Points) *axisData {
	a := &axisData{}
	n := len(x.Steps)
	if n == 0 {
		return a
	}
	j := 0
	for i, s := range p.Steps {
		if s < x.Steps[0] || s > x.Steps[n-1] {
			continue
		}
		for j+1 < n && x.Steps[j+1] <= s {
			j++
		}
		v := x.Values[j]
		if x.Steps[j] < s && j+1 < n { // between j and j+1
			f := float64(s-x.Steps[j]) / float64(x.Steps[j+1]-x.Steps[j])
			v += f * (x.Values[j+1] - v)
		}
		a.xs = append(a.xs, v)
		a.ys = append(a.ys, p.Values[i])
		a.steps = append(a.steps, s)
	}
	return a
}

// stepsOf returns the step of each point that Downsample kept: its output
// is a subsequence of its input, found again by walking both in order.
func stepsOf(xs, ys []float64, steps []int64, ox, oy []float64) []int64 {
	out := make([]int64, len(ox))
	i := 0
	for j := range ox {
		for i < len(xs) && !(xs[i] == ox[j] && sameFloat(ys[i], oy[j])) {
			i++
		}
		if i == len(xs) { // cannot happen: the output is a subsequence
			i = len(xs) - 1
		}
		out[j] = steps[i]
		i = min(i+1, len(xs)-1)
	}
	return out
}

func sameFloat(a, b float64) bool {
	return a == b || math.IsNaN(a) && math.IsNaN(b)
}

// seriesEncoder writes the series answer by hand: a million points
// through encoding/json would take a good part of a second.
type seriesEncoder struct {
	buf     []byte
	resumes []float64 // where the run resumed on the axis: each series with points says so
}

func (e *seriesEncoder) start(axis string) {
	e.buf = append(e.buf, `{"x":`...)
	e.buf = appendJSONString(e.buf, axis)
	e.buf = append(e.buf, `,"series":[`...)
}

func (e *seriesEncoder) series(i int, key string, total int, down bool, xs, ys []float64, steps []int64) {
	if i > 0 {
		e.buf = append(e.buf, ',')
	}
	e.buf = append(e.buf, `{"key":`...)
	e.buf = appendJSONString(e.buf, key)
	e.buf = append(e.buf, `,"total":`...)
	e.buf = strconv.AppendInt(e.buf, int64(total), 10)
	e.buf = append(e.buf, `,"downsampled":`...)
	e.buf = strconv.AppendBool(e.buf, down)
	e.buf = append(e.buf, `,"x":[`...)
	for j, x := range xs {
		if j > 0 {
			e.buf = append(e.buf, ',')
		}
		e.buf = strconv.AppendFloat(e.buf, x, 'f', -1, 64)
	}
	e.buf = append(e.buf, `],"y":[`...)
	for j, y := range ys {
		if j > 0 {
			e.buf = append(e.buf, ',')
		}
		e.buf = appendNumber(e.buf, y)
	}
	e.buf = append(e.buf, `],"steps":[`...)
	for j, s := range steps {
		if j > 0 {
			e.buf = append(e.buf, ',')
		}
		e.buf = strconv.AppendInt(e.buf, s, 10)
	}
	e.buf = append(e.buf, ']')
	if len(e.resumes) > 0 && len(xs) > 0 {
		e.buf = append(e.buf, `,"resumes":[`...)
		for j, x := range e.resumes {
			if j > 0 {
				e.buf = append(e.buf, ',')
			}
			e.buf = strconv.AppendFloat(e.buf, x, 'f', -1, 64)
		}
		e.buf = append(e.buf, ']')
	}
	e.buf = append(e.buf, '}')
}

func (e *seriesEncoder) end() { e.buf = append(e.buf, "]}"...) }

// appendNumber appends v as runlog writes numbers in JSON: non-finite
// values as the strings "NaN", "Infinity" and "-Infinity".
func appendNumber(b []byte, v float64) []byte {
	switch {
	case math.IsNaN(v):
		return append(b, `"NaN"`...)
	case math.IsInf(v, 1):
		return append(b, `"Infinity"`...)
	case math.IsInf(v, -1):
		return append(b, `"-Infinity"`...)
	}
	return strconv.AppendFloat(b, v, 'g', -1, 64)
}

// appendJSONString appends s as a JSON string, escaping <, > and & like
// encoding/json.
func appendJSONString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	for _, r := range s {
		switch {
		case r == '"' || r == '\\':
			b = append(b, '\\', byte(r))
		case r < 0x20 || r == '<' || r == '>' || r == '&' || r == 0x2028 || r == 0x2029:
			b = append(b, '\\', 'u', hex[r>>12&0xf], hex[r>>8&0xf], hex[r>>4&0xf], hex[r&0xf])
		case r == 0xFFFD:
			b = append(b, "\ufffd"...)
		default:
			b = append(b, string(r)...)
		}
	}
	return append(b, '"')
}
