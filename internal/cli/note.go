package cli

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/spf13/cobra"

	"github.com/runlog/runlog/internal/runfmt"
	"github.com/runlog/runlog/internal/store"
)

func newNote(e *env) *cobra.Command {
	var replace bool
	var hypothesis string
	cmd := &cobra.Command{
		Use:   "note RUN [TEXT]",
		Short: "Add to a run's notes, or set its hypothesis; without TEXT, print them",
		Long: `Add TEXT to a run's notes as a new paragraph, or with --replace put it in
place of all the notes (--replace without TEXT clears them). --hypothesis
sets what the run was meant to show. Without TEXT or flags, print the notes
and the hypothesis.

Notes and the hypothesis are shown by 'runlog show' and in the experiment
log that 'runlog report' writes. They are kept in the run folder (in
run.cli.log, beside run.log), so they survive 'runlog index --rebuild' and
travel with the folder.`,
		Example: `  runlog note lr-3e-3 "loss spikes at step 450; warmup too short?"
  runlog note lr-3e-3 --hypothesis "a 3x smaller lr is slower and ends higher"
  runlog note lr-3e-3 --replace "rerun with warmup 200 is k3v9x2ab"
  runlog note lr-3e-3`,
		Args: cobra.RangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			st, r, err := e.openRun(ctx, args[0])
			if err != nil {
				return err
			}
			defer st.Close()
			a := runfmt.Annotate{Time: runfmt.Seconds(e.now())}
			if len(args) == 2 {
				a.Note = strings.TrimSpace(args[1])
				if a.Note == "" && !replace {
					return fmt.Errorf("empty note: write some text, or use --replace without TEXT to clear the notes")
				}
			}
			if replace {
				text := a.Note
				a.Notes, a.Note = &text, ""
			}
			if cmd.Flags().Changed("hypothesis") {
				h := strings.TrimSpace(hypothesis)
				a.Hypothesis = &h
			}
			if a.Note == "" && a.Notes == nil && a.Hypothesis == nil {
				printNotes(e, r)
				return nil
			}
			_, notes, hyp := a.Apply(r.Tags, r.Notes, r.Hypothesis)
			for what, s := range map[string]string{"notes": notes, "hypothesis": hyp} {
				if !utf8.ValidString(s) {
					return fmt.Errorf("%w: the %s are not valid UTF-8", runfmt.ErrInvalid, what)
				}
				if len(s) > runfmt.MaxTextLen {
					return fmt.Errorf("%w: the %s would be %d bytes; the limit is %d (use --replace to start over)", runfmt.ErrInvalid, what, len(s), runfmt.MaxTextLen)
				}
			}
			if r, err = e.annotate(ctx, st, r, a); err != nil {
				return err
			}
			printNotes(e, r)
			return nil
		},
	}
	cmd.Flags().BoolVar(&replace, "replace", false, "replace all the notes with TEXT (no TEXT: clear them)")
	cmd.Flags().StringVar(&hypothesis, "hypothesis", "", "set what the run is meant to show")
	return cmd
}

func printNotes(e *env, r store.Run) {
	fmt.Fprintf(e.stdout, "%s  %s\n", orDash(r.Name), r.ID)
	if r.Hypothesis != "" {
		fmt.Fprintf(e.stdout, "hypothesis  %s\n", r.Hypothesis)
	}
	if r.Notes == "" {
		fmt.Fprintln(e.stdout, "no notes")
		return
	}
	fmt.Fprintf(e.stdout, "notes\n")
	for _, line := range strings.Split(r.Notes, "\n") {
		fmt.Fprintf(e.stdout, "  %s\n", line)
	}
}
