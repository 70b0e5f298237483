package analyze

import (
	"context"
	"fmt"
	"strings"

	"github.com/runlog/runlog/internal/store"
)

// maxVaried is the most config columns the summary table of a report
// shows: the keys that differ between runs, the learning rate of a sweep.
const maxVaried = 6

// GroupSets returns the indices of runs by their group (the `group` of
// runlog.Init: a sweep's members share it), for runs that have one.
func GroupSets(runs []store.Run) map[string][]int {
	sets := map[string][]int{}
	for i, r := range runs {
		if r.Group != "" {
			sets[r.Group] = append(sets[r.Group], i)
		}
	}
	return sets
}

// GroupSetKey is the key of a group set's plots in ReportOptions.Plots.
func GroupSetKey(group string) string { return "group:" + group }

// varied finds the config keys that differ between the runs, for the
// summary table: keys of a sweep (its `sweep` key) and the seed last.
func (w *reportWriter) varied() {
	var first, last []ConfigDiff
	for _, d := range w.c.Config {
		switch {
		case d.Key == "sweep":
		case isSeedKey(d.Key):
			last = append(last, d)
		default:
			first = append(first, d)
		}
	}
	w.cols = append(first, last...)
	if len(w.cols) > maxVaried {
		w.cols = w.cols[:maxVaried]
	}
}

// groupSet writes the section of the runs of one group: the table of its
// runs grouped by the keys that vary among them, its plots, and the
// runs' own sections folded below.
func (w *reportWriter) groupSet(ctx context.Context, st store.Store, name string, members []int) error {
	runs := make([]store.Run, len(members))
	sub := *w.c
	sub.Runs = nil
	for i, m := range members {
		runs[i] = w.c.Runs[m].Run
		sub.Runs = append(sub.Runs, w.c.Runs[m])
	}
	keys := w.opt.GroupBy
	if len(keys) == 0 {
		var err error
		if keys, err = SweepKeys(runs); err != nil {
			return err
		}
		if len(keys) == 0 {
			keys = []string{GroupField}
		}
	}
	gc, err := sub.GroupBy(keys, w.opt.MinMax)
	if err != nil {
		return fmt.Errorf("group %s: %w", name, err)
	}
	w.p("### Group %s: %d runs by %s\n\n", mdText(name), len(members), mdText(strings.Join(keys, ", ")))
	gc.markdownTable(&w.b)
	w.p("\n_%s_\n\n", mdText(strings.Join(gc.notes(), " ")))
	for _, p := range w.opt.Plots[GroupSetKey(name)] {
		w.p("![%s](%s)\n", plotAlt("Group "+name, p), p)
	}
	if len(w.opt.Plots[GroupSetKey(name)]) > 0 {
		w.p("\n")
	}
	w.p("**Observations**\n\n")
	w.keep("observations group "+name, defaultObservations)
	w.p("\n<details><summary>The %d runs of %s, one by one</summary>\n\n", len(members), mdText(name))
	for _, m := range members {
		if err := w.run(ctx, st, m); err != nil {
			return err
		}
	}
	w.p("</details>\n\n")
	return nil
}
