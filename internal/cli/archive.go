package cli

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/runlog/runlog/internal/runfmt"
	"github.com/runlog/runlog/internal/store"
)

func newArchive(e *env) *cobra.Command   { return archiveCommand(e, true) }
func newUnarchive(e *env) *cobra.Command { return archiveCommand(e, false) }

// archiveCommand returns `runlog archive` (archive true) or `runlog
// unarchive`.
func archiveCommand(e *env, archive bool) *cobra.Command {
	var sel runFilter
	cmd := &cobra.Command{
		Use:   "archive [RUN...]",
		Short: "Hide runs from ls, report and the web UI's list, keeping them",
		Long: `Archive runs: 'runlog ls', 'runlog report' and the web UI's list of runs
leave them out, unless asked for them ('runlog ls --archived' lists them,
'--all' lists every run). Everything else still finds an archived run by
its name or id: show, compare, plot, export. 'runlog unarchive' brings it
back to the lists.

Name the runs, or select them with the filters of 'runlog ls' (--project,
--tag, --status, --name). Archiving is written into the run folder (in
run.cli.log, beside run.log), so it survives 'runlog index --rebuild' and
travels with the folder; it is undone by one command, so nothing is asked.`,
		Example: `  runlog archive lr-1e-2
  runlog archive --project scratch --status failed
  runlog ls --archived
  runlog unarchive lr-1e-2`,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			st, err := e.open(ctx)
			if err != nil {
				return err
			}
			defer st.Close()
			def := store.NotArchived
			if !archive {
				def = store.OnlyArchived
			}
			runs, err := e.pick(ctx, st, args, &sel, def)
			if err != nil {
				return err
			}
			what := "archived"
			if !archive {
				what = "not archived"
			}
			if len(runs) == 0 {
				fmt.Fprintf(e.stdout, "no runs match that are %s\n", map[bool]string{true: "not archived", false: "archived"}[archive])
				return nil
			}
			for _, r := range runs {
				if r.Archived == archive {
					fmt.Fprintf(e.stdout, "%s  %s  %s already\n", orDash(r.Name), r.ID, what)
					continue
				}
				a := runfmt.Annotate{Time: runfmt.Seconds(e.now()), Archived: &archive}
				if r, err = e.annotate(ctx, st, r, a); err != nil {
					return err
				}
				fmt.Fprintf(e.stdout, "%s  %s  %s\n", orDash(r.Name), r.ID, what)
			}
			return nil
		},
	}
	if !archive {
		cmd.Use = "unarchive [RUN...]"
		cmd.Short = "Bring archived runs back to ls, report and the web UI's list"
		cmd.Long = `Undo 'runlog archive': the runs are listed again by 'runlog ls', 'runlog
report' and the web UI. Name the runs, or select archived runs with the
filters of 'runlog ls' (--project, --tag, --status, --name).`
		cmd.Example = `  runlog unarchive lr-1e-2
  runlog unarchive --project scratch`
	}
	sel.flags(cmd, false)
	return cmd
}
