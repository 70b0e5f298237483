package bench

import (
	"io"

	"github.com/spf13/cobra"

	"github.com/runlog/runlog/internal/bench/analyzebench"
)

func newAnalyze(stdout, stderr io.Writer) *cobra.Command {
	c := analyzebench.Default
	cmd := &cobra.Command{
		Use:   "analyze",
		Short: "runlog compare and runlog report of 50 runs, as whole processes (~30 s)",
		Long: `Measure runlog compare and runlog report against their goals — compare of 50
runs in at most 200 ms, the report of 50 runs with its plots in at most 5 s —
as whole runlog processes, on 50 runs of a learning-rate sweep written with
the Go client (2,000 steps each). One table: compare plain, with targets and
--at-time/--at-step, as JSON; report drawing every plot, and again with the
plots up to date.

Needs the runlog binary (--runlog, default bin/runlog). At the default sizes
it takes about 30 s on a 2-core machine.`,
		Example: `  runlog-bench analyze --runlog bin/runlog
  runlog-bench analyze --runs 10 --steps 500 --repeat 1   # a quick look`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c.Out, c.Log = stdout, stderr
			return analyzebench.Run(cmd.Context(), c)
		},
	}
	f := cmd.Flags()
	f.StringVar(&c.Runlog, "runlog", c.Runlog, "the runlog binary")
	f.StringVar(&c.Dir, "dir", "", "scratch folder (default: the system's temporary folder)")
	f.IntVar(&c.Runs, "runs", c.Runs, "runs to compare and report on")
	f.IntVar(&c.Steps, "steps", c.Steps, "steps of each run (train_loss, learning_rate, tokens_per_sec every step, val_loss every 50)")
	f.IntVar(&c.Repeat, "repeat", c.Repeat, "repetitions; medians are reported")
	f.BoolVar(&c.Keep, "keep", false, "keep the scratch folder")
	return cmd
}
