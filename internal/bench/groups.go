package bench

import (
	"io"

	"github.com/spf13/cobra"

	"github.com/runlog/runlog/internal/bench/groupbench"
)

func newGroups(stdout, stderr io.Writer) *cobra.Command {
	c := groupbench.Default
	cmd := &cobra.Command{
		Use:   "groups",
		Short: "compare, plot and report --group-by of a 100-run sweep of 100 k points each, as whole processes (~10 s)",
		Long: `Measure runlog's views of a sweep against their goals — compare --group-by
of 100 runs in 10 groups in at most 300 ms, plot --group-by of them in at
most 1.5 s, report of the sweep in at most 5 s — as whole runlog
processes, on 10 learning rates × 10 seeds of 100 k train-loss points each
(one run diverges). One table. At the default sizes it takes about 10 s on
a 2-core machine, writing and indexing the runs included.

Needs the runlog binary (--runlog, default bin/runlog).`,
		Example: `  runlog-bench groups --runlog bin/runlog
  runlog-bench groups --groups 3 --seeds 2 --points 10000 --repeat 1   # a quick look`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c.Out, c.Log = stdout, stderr
			return groupbench.Run(cmd.Context(), c)
		},
	}
	f := cmd.Flags()
	f.StringVar(&c.Runlog, "runlog", c.Runlog, "the runlog binary")
	f.StringVar(&c.Dir, "dir", "", "scratch home (default: a temporary folder); reused when it holds the runs")
	f.BoolVar(&c.Keep, "keep", false, "keep the scratch home")
	f.IntVar(&c.Groups, "groups", c.Groups, "learning rates")
	f.IntVar(&c.Seeds, "seeds", c.Seeds, "runs per learning rate")
	f.IntVar(&c.Points, "points", c.Points, "train_loss points per run")
	f.IntVar(&c.Repeat, "repeat", c.Repeat, "repetitions; medians are reported")
	return cmd
}
