package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/runlog/runlog/internal/analyze"
	"github.com/runlog/runlog/internal/runfmt"
	"github.com/runlog/runlog/internal/series"
	"github.com/runlog/runlog/internal/server"
	"github.com/runlog/runlog/internal/store"
	"github.com/runlog/runlog/internal/summary"
)

func newLs(e *env) *cobra.Command {
	var f store.Filter
	var asJSON bool
	var groupBy []string
	var archived, all bool
	var where string
	cmd := &cobra.Command{
		Use:   "ls",
		Short: "List runs, newest first",
		Long: `List runs, newest first, with their status, the last step reached, how long
they ran and their final train and validation loss.

A run whose process died without saying so (kill -9, a lost machine) is shown
as crashed once it has sent no heartbeat for ` + summary.StaleAfter.String() + `.
Archived runs (runlog archive) are left out: --archived lists only them,
--all every run.

--where keeps the runs whose config satisfies a condition: comparisons of
config values with numbers (<, <=, >, >=) under and, or and not, written as
the web UI's filter writes them. The store evaluates it, so that
--where with --limit reads only the runs shown. A run whose value is a
string, or that lacks the key, does not compare (it matches "not …").

--group-by KEY (a config path such as lr, several comma-separated, or group
for the runs' group) lists one row per group instead: its values, how many
runs it has by status, and the mean final losses of its runs.`,
		Example: `  runlog ls
  runlog ls --project tinylm --status finished
  runlog ls --tag baseline --name lr
  runlog ls --json | jq '.[] | select(.val_loss.value < 2)'
  runlog ls --project sweep --group-by lr
  runlog ls --where 'config.lr > 5e-4 and config.model.layers >= 8' -n 20`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			status := f.Status
			if status != "" {
				if err := runfmt.CheckStatus(status); err != nil {
					return err
				}
			}
			cond, err := server.ConfigCondition(where)
			if err != nil {
				return fmt.Errorf("--where: %w", err)
			}
			st, err := e.open(cmd.Context())
			if err != nil {
				return err
			}
			defer st.Close()
			by := analyze.ParseGroupBy(groupBy)
			if len(by) > 0 && asJSON {
				return fmt.Errorf("--group-by and --json exclude each other; compare --group-by --json gives groups as JSON")
			}
			q := f
			q.Where = cond
			q.Brief = !asJSON && len(by) == 0
			q.Summary = asJSON
			q.Archived = store.NotArchived
			if archived {
				q.Archived = store.OnlyArchived
			} else if all {
				q.Archived = store.AnyArchived
			}
			if status == runfmt.StatusCrashed {
				q.Status = runfmt.StatusRunning // crashed runs are stored as running
			}
			limit := q.Limit
			if status != "" {
				q.Limit = 0 // crashed and running are told apart after the query
			}
			runs, err := st.Runs(cmd.Context(), q)
			if err != nil {
				return err
			}
			now := e.now()
			kept := runs[:0]
			for _, r := range runs {
				if status == "" || summary.Status(&r, now) == status {
					kept = append(kept, r)
				}
			}
			if limit > 0 && len(kept) > limit {
				kept = kept[:limit]
			}
			if asJSON {
				return e.lsJSON(cmd.Context(), st, kept)
			}
			if len(by) > 0 {
				return e.lsGroups(kept, by)
			}
			return e.lsTable(kept)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.Project, "project", "", "only runs of this project")
	fl.StringVar(&f.Status, "status", "", "only runs with this status: "+runfmt.Statuses)
	fl.StringVar(&f.Tag, "tag", "", "only runs with this tag")
	fl.StringVar(&f.Name, "name", "", "only runs whose name contains this text (any case)")
	fl.IntVarP(&f.Limit, "limit", "n", 0, "show at most this many runs")
	fl.StringVar(&where, "where", "", "only runs whose config satisfies this, as in 'config.lr > 5e-4 and not config.seed >= 3'")
	fl.BoolVar(&archived, "archived", false, "only archived runs")
	fl.BoolVar(&all, "all", false, "archived runs too")
	cmd.MarkFlagsMutuallyExclusive("archived", "all")
	fl.BoolVar(&asJSON, "json", false, "print JSON instead of a table")
	fl.StringSliceVar(&groupBy, "group-by", nil, "one row per group of runs sharing these config values (dotted paths, comma-separated), or group")
	return cmd
}

func (e *env) lsTable(runs []store.Run) error {
	if len(runs) == 0 {
		fmt.Fprintf(e.stdout, "no runs in %s\n", e.homeDir())
		return nil
	}
	color := e.colors()
	tw := tabwriter.NewWriter(e.stdout, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tNAME\tPROJECT\tSTATUS\tSTEP\tDURATION\tTRAIN LOSS\tVAL LOSS\tSTARTED")
	now := e.now()
	for i := range runs {
		r := &runs[i]
		status := summary.Status(r, now)
		step := "-"
		if r.MaxStep >= 0 {
			step = fmt.Sprint(r.MaxStep)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.ID, clip(r.Name, 32), clip(r.Project, 20),
			paint(status, status, color), step, duration(r.Wallclock()), lossCell(r.TrainLoss), lossCell(r.ValLoss), when(r.Start))
	}
	return tw.Flush()
}

// lsGroups prints one row per group of runs: the group's values, its
// runs by status, and the mean final losses (± std) of its runs.
func (e *env) lsGroups(runs []store.Run, by []string) error {
	if len(runs) == 0 {
		fmt.Fprintf(e.stdout, "no runs in %s\n", e.homeDir())
		return nil
	}
	groups, err := analyze.GroupRuns(runs, by)
	if err != nil {
		return err
	}
	now := e.now()
	statuses := []string{runfmt.StatusRunning, runfmt.StatusFinished, runfmt.StatusFailed, runfmt.StatusKilled, runfmt.StatusCrashed}
	counts := make([]map[string]int, len(groups))
	seen := map[string]bool{}
	for i, g := range groups {
		counts[i] = map[string]int{}
		for _, m := range g.Members {
			st := summary.Status(&runs[m], now)
			counts[i][st]++
			seen[st] = true
		}
	}
	var shown []string
	for _, st := range statuses {
		if seen[st] {
			shown = append(shown, st)
		}
	}
	color := e.colors()
	tw := tabwriter.NewWriter(e.stdout, 2, 4, 2, ' ', 0)
	var head []string
	for _, k := range by {
		head = append(head, strings.ToUpper(k))
	}
	head = append(head, "RUNS")
	for _, st := range shown {
		head = append(head, strings.ToUpper(st))
	}
	head = append(head, "TRAIN LOSS (MEAN)", "VAL LOSS (MEAN)", "LATEST")
	fmt.Fprintln(tw, strings.Join(head, "\t"))
	for i, g := range groups {
		var cells []string
		for _, v := range g.Values {
			if v == "" {
				cells = append(cells, "(unset)")
				continue
			}
			var str string
			if json.Unmarshal([]byte(v), &str) == nil {
				v = str
			}
			cells = append(cells, clip(v, 32))
		}
		cells = append(cells, fmt.Sprint(len(g.Members)))
		for _, st := range shown {
			n := counts[i][st]
			cell := "-"
			if n > 0 {
				cell = paint(fmt.Sprint(n), st, color)
			}
			cells = append(cells, cell)
		}
		var train, val []float64
		latest := 0.0
		for _, m := range g.Members {
			r := &runs[m]
			if r.TrainLoss != nil {
				train = append(train, r.TrainLoss.Value)
			}
			if r.ValLoss != nil {
				val = append(val, r.ValLoss.Value)
			}
			latest = max(latest, r.Start)
		}
		cells = append(cells, meanCell(train), meanCell(val), when(latest))
		fmt.Fprintln(tw, strings.Join(cells, "\t"))
	}
	return tw.Flush()
}

// meanCell shows the mean ± std of a group's final values, and how many
// were NaN.
func meanCell(vs []float64) string {
	s := series.Summarize(vs)
	out := "-"
	if s.N > 0 {
		out = num(s.Mean)
		if s.N > 1 {
			out += " ± " + strconv.FormatFloat(s.Std, 'g', 2, 64)
		}
	}
	if s.NaN > 0 {
		out += fmt.Sprintf(" [%d NaN]", s.NaN)
	}
	return out
}

func lossCell(p *series.Point) string {
	if p == nil {
		return "-"
	}
	return num(p.Value)
}

func clip(s string, n int) string {
	if s == "" {
		return "-"
	}
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}

// lsJSON prints the runs as GET /api/v1/runs gives them: summary.Row,
// with the values each run set and the final value of each series, which
// the listing does not hold.
func (e *env) lsJSON(ctx context.Context, st store.Store, runs []store.Run) error {
	ids := make([]string, len(runs))
	for i := range runs {
		ids[i] = runs[i].ID
	}
	ser, more, err := summary.RowsSeries(ctx, st, ids)
	if err != nil {
		return err
	}
	out := make([]summary.Row, 0, len(runs))
	now := e.now()
	for i := range runs {
		row := summary.NewRow(&runs[i], ser[runs[i].ID], now)
		row.MoreMetrics = more[runs[i].ID]
		out = append(out, row)
	}
	enc := json.NewEncoder(e.stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}
