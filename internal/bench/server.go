package bench

import (
	"io"

	"github.com/spf13/cobra"

	"github.com/runlog/runlog/internal/bench/serverbench"
)

func newServer(stdout, stderr io.Writer) *cobra.Command {
	c := serverbench.Default
	cmd := &cobra.Command{
		Use:   "server",
		Short: "runlog ui: the series endpoint, the runs list, remote ingest (~30 s)",
		Long: `Measure runlog ui against its goals, with the server in this process behind a
real listener on 127.0.0.1 and clients talking HTTP to it. One table:

  series endpoint   a 1 M-point series downsampled to 2,000 points: the
                    first request by step (goal ≤ 10 ms), drawn from the
                    store's overview, beside one that decodes every point
                    (the wallclock axis); later requests (goal ≤ 2 ms),
                    zoomed, and on the wallclock and active-time axes
  runs list         1,000 runs: the first request, 100 shown, all shown,
                    searched and sorted
  remote ingest     the Go client streaming 10 M points to the server (goal
                    ≥ 1 M points/s acknowledged, that is, synced on the
                    server's disk), then 4 clients at once, and until the
                    server's store has every point

At the default sizes it takes about 30 s on a 2-core machine and about 1 GB
of scratch space.`,
		Example: `  runlog-bench server
  runlog-bench server --ingest-points 2000000 --repeat 3   # a quick look`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c.Out, c.Log = stdout, stderr
			return serverbench.Run(cmd.Context(), c)
		},
	}
	f := cmd.Flags()
	f.StringVar(&c.Dir, "dir", "", "scratch folder (default: a new temporary one)")
	f.BoolVar(&c.Keep, "keep", false, "keep the scratch folder")
	f.IntVar(&c.Points, "points", c.Points, "points of the series read by the series endpoint")
	f.IntVar(&c.Width, "width", c.Width, "points the series endpoint is asked for")
	f.IntVar(&c.IngestPoints, "ingest-points", c.IngestPoints, "points streamed by the Go client")
	f.IntVar(&c.Series, "series", c.Series, "series of the streamed run")
	f.IntVar(&c.Clients, "clients", c.Clients, "clients streaming at once, in the concurrent case")
	f.IntVar(&c.Runs, "runs", c.Runs, "runs of the runs list")
	f.IntVar(&c.Repeat, "repeat", c.Repeat, "repetitions; medians are reported")
	return cmd
}
