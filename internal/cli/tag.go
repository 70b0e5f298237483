package cli

import (
	"fmt"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/runlog/runlog/internal/annotate"
	"github.com/runlog/runlog/internal/runfmt"
)

func newTag(e *env) *cobra.Command {
	var remove bool
	cmd := &cobra.Command{
		Use:   "tag RUN [TAG...]",
		Short: "Add tags to a run, or remove them with --remove; without tags, print them",
		Long: `Add tags to a run (or with --remove take them off), to filter by with
'runlog ls --tag' and to show in 'runlog report'. Tags are kept in the run
folder (in run.cli.log, beside run.log), so they survive 'runlog index
--rebuild' and travel with the folder.`,
		Example: `  runlog tag lr-1e-2 baseline best
  runlog tag lr-1e-2 --remove best
  runlog ls --tag baseline`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			tags := args[1:]
			for _, t := range tags {
				if err := annotate.CheckLabel("tag", t); err != nil {
					return err
				}
			}
			ctx := cmd.Context()
			st, r, err := e.openRun(ctx, args[0])
			if err != nil {
				return err
			}
			defer st.Close()
			a := runfmt.Annotate{Time: runfmt.Seconds(e.now())}
			if remove {
				a.RemoveTags = tags
			} else {
				a.AddTags = tags
			}
			after, _, _ := a.Apply(r.Tags, r.Notes, r.Hypothesis)
			if len(after) > runfmt.MaxTags {
				return fmt.Errorf("%w: a run has at most %d tags", runfmt.ErrInvalid, runfmt.MaxTags)
			}
			if len(tags) > 0 && !slices.Equal(after, r.Tags) {
				if r, err = e.annotate(ctx, st, r, a); err != nil {
					return err
				}
			}
			list := "no tags"
			if len(r.Tags) > 0 {
				list = "tags " + strings.Join(r.Tags, ", ")
			}
			fmt.Fprintf(e.stdout, "%s  %s  %s\n", orDash(r.Name), r.ID, list)
			return nil
		},
	}
	cmd.Flags().BoolVar(&remove, "remove", false, "remove the tags instead of adding them")
	return cmd
}
