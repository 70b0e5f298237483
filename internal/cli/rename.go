package cli

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/runlog/runlog/internal/annotate"
	"github.com/runlog/runlog/internal/runfmt"
	"github.com/runlog/runlog/internal/store"
)

func newRename(e *env) *cobra.Command {
	return &cobra.Command{
		Use:   "rename RUN NAME",
		Short: "Give a run a new name",
		Long: `Give a run a new name, by which every command finds it. The id stays the
same. The name is written into the run folder (in run.cli.log, beside
run.log), so it survives 'runlog index --rebuild' and travels with the
folder.`,
		Example: `  runlog rename k3v9x2ab baseline-17m
  runlog rename lr-3e-3 lr-3e-3-warmup200`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			name := strings.TrimSpace(args[1])
			if err := annotate.CheckLabel("name", name); err != nil {
				return err
			}
			ctx := cmd.Context()
			st, r, err := e.openRun(ctx, args[0])
			if err != nil {
				return err
			}
			defer st.Close()
			if r.Name == name {
				fmt.Fprintf(e.stdout, "%s  %s  named so already\n", name, r.ID)
				return nil
			}
			// Names need not be unique, but a shared one makes the name
			// mean the newest of the runs.
			others, err := st.Runs(ctx, store.Filter{Name: name, Brief: true})
			if err != nil {
				return err
			}
			for _, o := range others {
				if o.Name == name {
					e.warn(fmt.Errorf("run %s is named %q too: the name means the newest of them; use ids to tell them apart", o.ID, name))
					break
				}
			}
			old := r.Name
			if r, err = e.annotate(ctx, st, r, runfmt.Annotate{Time: runfmt.Seconds(e.now()), Name: name}); err != nil {
				return err
			}
			fmt.Fprintf(e.stdout, "%s  %s  renamed from %s\n", r.Name, r.ID, orDash(old))
			return nil
		},
	}
}
