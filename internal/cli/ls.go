package cli

import (
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
				return e.lsJSON(kept)
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

// lsRun is a run as `runlog ls --json` prints it.
type lsRun struct {
	ID         string          `json:"id"`
	Name       string          `json:"name"`
	Project    string          `json:"project"`
	Group      string          `json:"group,omitempty"`
	Tags       []string        `json:"tags"`
	Status     string          `json:"status"`
	ExitCode   *int            `json:"exit_code,omitempty"`
	Start      string          `json:"start_time"`
	End        string          `json:"end_time,omitempty"`
	LastStep   *int64          `json:"last_step"`
	Wallclock  float64         `json:"wallclock_time"`
	Active     float64         `json:"active_time"`
	TrainLoss  *lsValue        `json:"train_loss"`
	ValLoss    *lsValue        `json:"val_loss"`
	Host       string          `json:"host,omitempty"`
	Path       string          `json:"path"`
	Config     json.RawMessage `json:"config"`
	Hypothesis string          `json:"hypothesis,omitempty"`
}

type lsValue struct {
	Step  int64        `json:"step"`
	Value runfmt.Float `json:"value"`
}

func (e *env) lsJSON(runs []store.Run) error {
	out := make([]lsRun, 0, len(runs))
	now := e.now()
	for i := range runs {
		r := &runs[i]
		s := summary.Build(*r, nil, nil, nil, now)
		j := lsRun{ID: r.ID, Name: r.Name, Project: r.Project, Group: r.Group, Tags: s.Tags, Status: s.Status,
			ExitCode: r.ExitCode, Start: s.Start, End: s.End, Wallclock: s.Wallclock, Active: s.Active,
			Host: r.Host, Path: r.Path, Config: r.Config, Hypothesis: r.Hypothesis}
		if r.MaxStep >= 0 {
			j.LastStep = &r.MaxStep
		}
		if p := r.TrainLoss; p != nil {
			j.TrainLoss = &lsValue{p.Step, runfmt.Float(p.Value)}
		}
		if p := r.ValLoss; p != nil {
			j.ValLoss = &lsValue{p.Step, runfmt.Float(p.Value)}
		}
		if len(j.Config) == 0 {
			j.Config = json.RawMessage("{}")
		}
		out = append(out, j)
	}
	enc := json.NewEncoder(e.stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}
