package server

import (
	"errors"
	"fmt"
	"math"
	"net/http"
	"sort"
	"strconv"
	"strings"

	"github.com/runlog/runlog/internal/series"
	"github.com/runlog/runlog/internal/store"
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
	for i, key := range keys {
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
	buf []byte
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
	e.buf = append(e.buf, "]}"...)
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
