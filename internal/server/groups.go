package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"runtime"
	"slices"
	"strings"
	"sync"

	"github.com/runlog/runlog/internal/analyze"
	"github.com/runlog/runlog/internal/series"
	"github.com/runlog/runlog/internal/store"
)

// The bounds of one group request: the runs, the keys, and the points of
// a step grid (the union of the members' steps) before it is decimated;
// past that the grid is a fixed one, as on time axes.
const (
	maxGroupRuns = 1000
	maxGroupKeys = 16
	maxStepGrid  = 1 << 20
)

// groupsAnswer is the answer of GET /api/v1/groups.
type groupsAnswer struct {
	X      string        `json:"x"`
	By     []string      `json:"by"`
	Band   string        `json:"band"`
	Groups []groupAnswer `json:"groups"`
}

type groupAnswer struct {
	Label    string   `json:"label"`
	N        int      `json:"n"`
	Diverged int      `json:"diverged"` // members with a NaN or infinite value in any key
	Members  []string `json:"members"`
	// DivergedMembers are the ids of the diverged members.
	DivergedMembers []string          `json:"diverged_members"`
	Series          []groupSeriesJSON `json:"series"`
}

type groupSeriesJSON struct {
	Key         string     `json:"key"`
	Members     int        `json:"members"`  // members that logged the key
	Diverged    int        `json:"diverged"` // of them, those with a NaN or infinite value
	Total       int        `json:"total"`    // points of the grid before decimating
	Downsampled bool       `json:"downsampled"`
	X           jsonFloats `json:"x"`
	Mean        jsonFloats `json:"mean"`
	Lo          jsonFloats `json:"lo"`
	Hi          jsonFloats `json:"hi"`
	N           []int      `json:"n"` // members with a finite value at x
}

// jsonFloats are numbers as runlog writes them: NaN and infinities as strings.
type jsonFloats []float64

func (f jsonFloats) MarshalJSON() ([]byte, error) {
	b := make([]byte, 0, 2+len(f)*8)
	b = append(b, '[')
	for i, v := range f {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendNumber(b, v)
	}
	return append(b, ']'), nil
}

// groups answers the aggregates of groups of runs
// (GET /api/v1/groups?runs=a,b&by=config.lr&keys=train_loss&x=step&points=2000&band=std):
// the runs grouped by `group` or config keys as `runlog compare --group-by`
// groups them, and per group and key the mean of the members with a band
// (±1 std, or min–max) on a common grid — the union of the members' steps
// on the step axis, evenly spaced x on time axes, where members are
// interpolated — decimated by M4 to about the points asked for. The
// aggregation is series.Aggregator's; a member that went NaN or infinite
// is counted apart and named, never averaged in. A chart of 100 runs in
// 10 groups thus fetches and draws what 10 runs cost.
func (s *Server) groups(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	p := r.URL.Query()
	refs := splitList(p["runs"])
	if len(refs) == 0 {
		return badRequest("runs: name the runs to group, comma-separated: ?runs=a,b,c")
	}
	if len(refs) > maxGroupRuns {
		return badRequest("runs: at most %d runs at once", maxGroupRuns)
	}
	by := analyze.ParseGroupBy(p["by"])
	if len(by) == 0 {
		return badRequest("by: name the keys to group by: group, or config keys such as config.lr")
	}
	keys := append(splitList(p["keys"]), p["key"]...) // key: one each, for keys with commas
	if len(keys) == 0 {
		return badRequest("keys: name the series, comma-separated: ?keys=train_loss,val_loss")
	}
	if len(keys) > maxGroupKeys {
		return badRequest("keys: at most %d series at once", maxGroupKeys)
	}
	axis := series.AxisStep
	if v := p.Get("x"); v != "" {
		a, ok := series.ParseAxis(v)
		if !ok {
			return badRequest("x %q: use step, wallclock, active or time", v)
		}
		axis = a
	}
	points, err := intParam(p.Get("points"), 2000, 8, 20_000)
	if err != nil {
		return badRequest("points: %v", err)
	}
	band := p.Get("band")
	switch band {
	case "":
		band = "std"
	case "std", "minmax":
	default:
		return badRequest("band %q: use std (mean ± 1 standard deviation) or minmax", band)
	}
	runs, err := s.resolveAll(ctx, refs)
	if err != nil {
		return err
	}
	// The answer is kept until one of the runs changes: the key names
	// every run with its generation.
	var kb strings.Builder
	fmt.Fprintf(&kb, "%q\x00%s\x00%s\x00%d\x00%q", by, axis, band, points, keys)
	for _, run := range runs {
		fmt.Fprintf(&kb, "\x00%s:%d", run.ID, s.gens.of(run.ID))
	}
	cacheKey := kb.String()
	if body, ok := s.groupBodies.get(cacheKey); ok {
		writeRawJSON(w, http.StatusOK, body)
		return nil
	}
	groups, err := analyze.GroupRuns(runs, by)
	if err != nil {
		return badRequest("by: %v", err)
	}
	out := groupsAnswer{X: string(axis), By: by, Band: band, Groups: make([]groupAnswer, len(groups))}
	// Groups are aggregated on every core: decoding, aligning and
	// summing their members is most of a cold request's time.
	errs := make([]error, len(groups))
	sem := make(chan struct{}, runtime.GOMAXPROCS(0))
	var wg sync.WaitGroup
	for gi, g := range groups {
		members := make([]store.Run, len(g.Members))
		for i, m := range g.Members {
			members[i] = runs[m]
		}
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			ga, err := s.group(ctx, members, keys, axis, points, band == "minmax")
			ga.Label = g.Label(by)
			out.Groups[gi], errs[gi] = ga, err
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return err
	}
	body, err := json.Marshal(out)
	if err != nil {
		return err
	}
	s.groupBodies.put(cacheKey, body)
	writeRawJSON(w, http.StatusOK, body)
	return nil
}

// group aggregates the keys of one group's members.
func (s *Server) group(ctx context.Context, members []store.Run, keys []string, axis series.Axis, points int, minmax bool) (groupAnswer, error) {
	ga := groupAnswer{N: len(members), Members: make([]string, len(members)), DivergedMembers: []string{}, Series: make([]groupSeriesJSON, 0, len(keys))}
	diverged := make([]bool, len(members))
	for i, m := range members {
		ga.Members[i] = m.ID
	}
	for _, key := range keys {
		var curves []*axisData
		var who []int
		for i, m := range members {
			e, err := s.series.get(ctx, s.db, m, key, s.gens.of(m.ID))
			if errors.Is(err, store.ErrNotFound) {
				continue
			}
			if err != nil {
				return ga, err
			}
			if a := s.series.axis(e, axis); len(a.xs) > 0 {
				curves = append(curves, a)
				who = append(who, i)
			}
		}
		gs := groupSeriesJSON{Key: key, Members: len(curves), X: jsonFloats{}, Mean: jsonFloats{}, Lo: jsonFloats{}, Hi: jsonFloats{}, N: []int{}}
		if len(curves) == 0 {
			ga.Series = append(ga.Series, gs)
			continue
		}
		agg := series.NewAggregator(gridOf(curves, axis, points))
		for k, a := range curves {
			agg.Add(a.xs, a.ys)
			if slices.ContainsFunc(a.ys, func(v float64) bool { return math.IsNaN(v) || math.IsInf(v, 0) }) {
				diverged[who[k]] = true
			}
		}
		full := agg.Band()
		b := full.Decimate((points + 3) / 4)
		gs.Diverged, gs.Total, gs.Downsampled = full.Diverged, len(full.X), len(b.X) < len(full.X)
		gs.X, gs.Mean, gs.N = b.X, b.Mean, b.N
		gs.Lo, gs.Hi = make(jsonFloats, len(b.X)), make(jsonFloats, len(b.X))
		for i := range b.X {
			gs.Lo[i], gs.Hi[i] = b.Lo(i, minmax), b.Hi(i, minmax)
		}
		ga.Series = append(ga.Series, gs)
	}
	for i, d := range diverged {
		if d {
			ga.Diverged++
			ga.DivergedMembers = append(ga.DivergedMembers, members[i].ID)
		}
	}
	return ga, nil
}

// gridOf returns the grid a group's curves are aggregated on: on the step
// axis the union of their steps, so that no logged step is interpolated,
// unless it would be huge; otherwise points evenly spaced x across them.
func gridOf(curves []*axisData, axis series.Axis, points int) []float64 {
	total := 0
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, a := range curves {
		total += len(a.xs)
		lo, hi = math.Min(lo, a.xs[0]), math.Max(hi, a.xs[len(a.xs)-1])
	}
	if axis == series.AxisStep && total <= maxStepGrid {
		xs := make([][]float64, len(curves))
		for i, a := range curves {
			xs[i] = a.xs
		}
		return series.GridOf(xs...)
	}
	return series.FixedGrid(lo, hi, points)
}

// splitList splits comma-separated parameter values, dropping empty ones.
func splitList(vs []string) []string {
	var out []string
	for _, v := range vs {
		for _, s := range strings.Split(v, ",") {
			if s = strings.TrimSpace(s); s != "" {
				out = append(out, s)
			}
		}
	}
	return out
}
