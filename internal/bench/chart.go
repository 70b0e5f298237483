package bench

import (
	"io"

	"github.com/spf13/cobra"

	"github.com/runlog/runlog/internal/bench/chartbench"
)

func newChart(stdout, stderr io.Writer) *cobra.Command {
	c := chartbench.Default
	cmd := &cobra.Command{
		Use:   "chart",
		Short: "runlog plot of 10 runs × 1 M points, and where its time goes (~1 min)",
		Long: `Measure runlog plot against its goal — the loss curves of 10 runs of 1 M
points each drawn in at most 1 s, as a whole process (needs --runlog) — and
where the time goes, stage by stage in this process: opening the store,
reading the points, x-axes and M4 downsampling, building and drawing the
figure, PNG encoding. One table.

The runs are written once into a scratch home (about 300 MB of run logs and
60 MB of store); --keep and --dir reuse them. At the default sizes it takes
about a minute on a 2-core machine.`,
		Example: `  runlog-bench chart --runlog bin/runlog
  runlog-bench chart --runlog bin/runlog --runs 3 --points 200000 --repeat 1   # a quick look`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c.Out, c.Log = stdout, stderr
			return chartbench.Run(cmd.Context(), c)
		},
	}
	f := cmd.Flags()
	f.StringVar(&c.Dir, "dir", "", "scratch home (default: a new temporary folder); an existing one made by --keep is reused")
	f.BoolVar(&c.Keep, "keep", false, "keep the scratch home")
	f.StringVar(&c.Runlog, "runlog", "", "the runlog binary, for the whole-process rows")
	f.IntVar(&c.Runs, "runs", c.Runs, "runs")
	f.IntVar(&c.Points, "points", c.Points, "train_loss points per run")
	f.IntVar(&c.Repeat, "repeat", c.Repeat, "repetitions; medians are reported")
	return cmd
}
