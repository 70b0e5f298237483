package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/runlog/runlog/internal/runfmt"
	"github.com/runlog/runlog/internal/series"
	"github.com/runlog/runlog/internal/store"
	"github.com/runlog/runlog/internal/summary"
)

func newLs(e *env) *cobra.Command {
	var f store.Filter
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "ls",
		Short: "List runs, newest first",
		Long: `List runs, newest first, with their status, the last step reached, how long
they ran and their final train and validation loss.

A run whose process died without saying so (kill -9, a lost machine) is shown
as crashed once it has sent no heartbeat for ` + summary.StaleAfter.String() + `.`,
		Example: `  runlog ls
  runlog ls --project tinylm --status finished
  runlog ls --tag baseline --name lr
  runlog ls --json | jq '.[] | select(.val_loss.value < 2)'`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			status := f.Status
			if status != "" && !runfmt.ValidStatus(status) {
				return fmt.Errorf("unknown status %q: use running, finished, failed, killed or crashed", status)
			}
			st, err := e.open(cmd.Context())
			if err != nil {
				return err
			}
			defer st.Close()
			q := f
			q.Brief = !asJSON
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
			return e.lsTable(kept)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.Project, "project", "", "only runs of this project")
	fl.StringVar(&f.Status, "status", "", "only runs with this status: running, finished, failed, killed, crashed")
	fl.StringVar(&f.Tag, "tag", "", "only runs with this tag")
	fl.StringVar(&f.Name, "name", "", "only runs whose name contains this text (any case)")
	fl.IntVarP(&f.Limit, "limit", "n", 0, "show at most this many runs")
	fl.BoolVar(&asJSON, "json", false, "print JSON instead of a table")
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
	out := make([]summary.Row, 0, len(runs))
	now := e.now()
	for i := range runs {
		r := runs[i]
		full, err := st.Run(ctx, r.ID)
		if err != nil {
			return err
		}
		r.Summary = full.Summary // Runs leaves it out
		ser, more, err := summary.RowSeries(ctx, st, r.ID)
		if err != nil {
			return err
		}
		row := summary.NewRow(&r, ser, now)
		row.MoreMetrics = more
		out = append(out, row)
	}
	enc := json.NewEncoder(e.stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}
