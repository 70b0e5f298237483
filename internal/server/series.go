package server

import (
	"errors"
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
	if v := p.Get("x"); v != "" {
		a, ok := series.ParseAxis(v)
		if !ok {
			return badRequest("x %q: use step, wallclock, active or time", v)
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
	enc := seriesEncoder{buf: make([]byte, 0, 64<<10)}
	enc.start(axis)
	for i, key := range keys {
		e, err := s.series.get(ctx, s.db, run, key, gen)
		if errors.Is(err, store.ErrNotFound) {
			enc.series(i, key, 0, false, nil, nil, nil)
			continue
		}
		if err != nil {
			return err
		}
		a := s.series.axis(e, axis)
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
	writeRawJSON(w, http.StatusOK, enc.buf)
	return nil
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

func (e *seriesEncoder) start(axis series.Axis) {
	e.buf = append(e.buf, `{"x":`...)
	e.buf = strconv.AppendQuote(e.buf, string(axis))
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
