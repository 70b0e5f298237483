package chart

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/runlog/runlog/internal/series"
	"github.com/runlog/runlog/internal/store"
)

// Table is what terminal charts become when output is not a terminal: the
// values of the run's main series at a few steps, one row each, with the
// wallclock time of the step. When a key is logged sparsely (a validation
// loss every few hundred steps) and rows suffice, the rows are its steps,
// so that every validation is shown beside the train loss of its step;
// otherwise they are spread evenly over the run. Each value is the last
// one logged at or before the row's step. It returns ErrNoData when the
// run logs none of the keys.
func Table(ctx context.Context, st store.Store, r store.Run, keys []string, rows int) (string, error) {
	if len(keys) == 0 {
		var err error
		if keys, err = LossKeys(ctx, st, []store.Run{r}); err != nil {
			return "", err
		}
	}
	var have []string
	var pts []series.Points
	for _, k := range keys {
		p, err := st.Points(ctx, r.ID, k, store.PointsOptions{})
		if errors.Is(err, store.ErrNotFound) || err == nil && p.Len() == 0 {
			continue
		}
		if err != nil {
			return "", err
		}
		have, pts = append(have, k), append(pts, p)
	}
	if len(have) == 0 {
		return "", ErrNoData
	}
	steps := tableSteps(pts, rows)
	startMs := int64(math.Round(r.Start * 1000))
	if startMs == 0 {
		startMs = pts[0].Times[0]
	}
	last := 0.0
	for _, p := range pts {
		last = math.Max(last, float64(p.Times[p.Len()-1]-startMs)/1000)
	}
	div, unit := timeUnit(last)

	var b strings.Builder
	total := 0
	for _, p := range pts {
		total = max(total, p.Len())
	}
	fmt.Fprintf(&b, "%s at %d steps (of %d points; every point: runlog export)\n", yLabel(have), len(steps), total)
	tw := tabwriter.NewWriter(&b, 2, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "  step\twallclock (%s)\t%s\t\n", unit, strings.Join(have, "\t"))
	for _, s := range steps {
		row := []string{strconv.FormatInt(s, 10)}
		wall := ""
		vals := make([]string, len(pts))
		for k, p := range pts {
			i := sort.Search(p.Len(), func(i int) bool { return p.Steps[i] > s }) - 1
			if i < 0 {
				vals[k] = "-"
				continue
			}
			vals[k] = strconv.FormatFloat(p.Values[i], 'g', 5, 64)
			if wall == "" && p.Steps[i] == s {
				wall = strconv.FormatFloat(float64(p.Times[i]-startMs)/1000/div, 'f', 1, 64)
			}
		}
		row = append(row, wall)
		row = append(row, vals...)
		fmt.Fprintf(tw, "  %s\t\n", strings.Join(row, "\t"))
	}
	tw.Flush()
	return b.String(), nil
}

// tableSteps chooses the steps of a table of about rows rows.
func tableSteps(pts []series.Points, rows int) []int64 {
	rows = max(2, rows)
	// A sparse series's steps, when they fit, and the last step.
	for _, p := range pts {
		if p.Len() <= sparse && p.Len() <= rows && p.Len() > 1 {
			steps := distinct(p.Steps)
			if end := lastStep(pts); end > steps[len(steps)-1] {
				steps = append(steps, end)
			}
			return steps
		}
	}
	// Evenly spread over the densest series.
	d := pts[0]
	for _, p := range pts[1:] {
		if p.Len() > d.Len() {
			d = p
		}
	}
	all := distinct(d.Steps)
	if len(all) <= rows {
		return all
	}
	var out []int64
	for i := range rows {
		s := all[i*(len(all)-1)/(rows-1)]
		if len(out) == 0 || out[len(out)-1] != s {
			out = append(out, s)
		}
	}
	return out
}

func distinct(steps []int64) []int64 {
	var out []int64
	for _, s := range steps {
		if len(out) == 0 || out[len(out)-1] != s {
			out = append(out, s)
		}
	}
	return out
}

func lastStep(pts []series.Points) int64 {
	var end int64
	for _, p := range pts {
		end = max(end, p.Steps[p.Len()-1])
	}
	return end
}
