package bench

import (
	"io"

	"github.com/spf13/cobra"

	"github.com/runlog/runlog/internal/bench/storebench"
)

func newStore(stdout, stderr io.Writer) *cobra.Command {
	c := storebench.Default
	var only []string
	cmd := &cobra.Command{
		Use:   "store",
		Short: "Storage: ingest, indexing, reads, bytes per point, Log cost, runlog ls, runner overhead (~3 min)",
		Long: `Measure runlog's storage against its goals and, in the same run, against the
fastest thing that could hold the same points: appending them as 32-byte
records to a plain file. One table:

  ingest    the Go client logging 10 M points over 10 series into run.log,
            then indexing them into the store; indexing alone; reading a
            1 M-point series back; a run's summary
  size      bytes per point in the store for realistic series
  log       what Log of 4 values costs the training loop's goroutine
  ls        runlog ls over 10 k runs, as a whole process (needs --runlog)
  runner    what runlog run costs the tiny LM (needs --runlog and --tinylm)

At the default sizes it takes about 3 minutes on a 2-core machine and about
1 GB of scratch space; --points 1000000 --runs 1000 --repeat 1 takes about
20 s.`,
		Example: `  runlog-bench store --runlog bin/runlog --tinylm bin/tinylm
  runlog-bench store --points 1000000 --runs 1000 --repeat 1   # a quick look
  runlog-bench store --only ls,runner --runlog bin/runlog --tinylm bin/tinylm`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c.Only = only
			c.Out, c.Log = stdout, stderr
			_, err := storebench.Run(cmd.Context(), c)
			return err
		},
	}
	f := cmd.Flags()
	f.StringVar(&c.Dir, "dir", "", "scratch folder (default: the system's temporary folder)")
	f.StringVar(&c.Runlog, "runlog", "", "the runlog binary, for `runlog ls` as a whole process")
	f.IntVar(&c.Points, "points", c.Points, "points of the ingest benchmark")
	f.IntVar(&c.Series, "series", c.Series, "series of the ingest benchmark")
	f.IntVar(&c.LsRuns, "runs", c.LsRuns, "runs for the ls benchmark")
	f.IntVar(&c.Repeat, "repeat", c.Repeat, "repetitions; medians are reported")
	f.BoolVar(&c.Keep, "keep", false, "keep the scratch folder")
	f.StringVar(&c.TinyLM, "tinylm", "", "the tiny LM binary, to measure the overhead of runlog run on it")
	f.IntVar(&c.TinyLMSteps, "tinylm-steps", c.TinyLMSteps, "steps of each tiny LM run")
	f.StringSliceVar(&only, "only", nil, "run only these benchmarks, comma-separated: ingest, size, log, ls, runner")
	return cmd
}
