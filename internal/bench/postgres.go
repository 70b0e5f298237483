package bench

import (
	"io"

	"github.com/spf13/cobra"

	"github.com/runlog/runlog/internal/bench/pgbench"
)

func newPostgres(stdout, stderr io.Writer) *cobra.Command {
	c := pgbench.Default
	var only []string
	cmd := &cobra.Command{
		Use:   "postgres",
		Short: "The PostgreSQL store beside SQLite: bytes per point, runs list, a 1 M-point series; its size under a live load (~6 min)",
		Long: `Measure the PostgreSQL store (internal/store/postgres) against issue 17's
goals, with the SQLite store on the same workloads in the same run:

  size     bytes per point of storebench's loss run, indexed by ingest
  runs     the runs list of 10 k runs, filtered on a config value, first page
  series   a 1 M-point series read and downsampled to 2 k points

and a second table for the live load: runs logging many keys a point at a
time, one batch per run a round, with the store's size on disk sampled as
it grows beside the bytes of the points it holds (the tail design of
docs/storage.md keeps the two close).

With --dsn it uses that server (its user must be allowed to create
databases; the benchmark creates and drops its own); otherwise it starts a
throwaway cluster with initdb (PostgreSQL must be installed; as root it
runs the server as the user postgres or nobody). At the default sizes it
takes about 6 minutes on a 2-core machine.`,
		Example: `  runlog-bench postgres
  runlog-bench postgres --dsn postgres://runlog@127.0.0.1:5432/postgres
  runlog-bench postgres --runs 1000 --points 200000 --live-runs 20 --live-rounds 100 --repeat 3   # a quick look`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c.Only = only
			c.Out, c.Log = stdout, stderr
			return pgbench.Run(cmd.Context(), c)
		},
	}
	f := cmd.Flags()
	f.StringVar(&c.DSN, "dsn", "", "a PostgreSQL server to use (default: start a throwaway one with initdb)")
	f.StringVar(&c.Dir, "dir", "", "scratch folder for the SQLite stores (default: the system's temporary folder)")
	f.IntVar(&c.Points, "points", c.Points, "points of the bytes-per-point workload")
	f.IntVar(&c.Runs, "runs", c.Runs, "runs of the runs-list benchmark")
	f.IntVar(&c.Series, "series-points", c.Series, "points of the series downsampled")
	f.IntVar(&c.LiveRuns, "live-runs", c.LiveRuns, "runs of the live load")
	f.IntVar(&c.LiveKeys, "live-keys", c.LiveKeys, "keys each run of the live load logs")
	f.IntVar(&c.LiveRounds, "live-rounds", c.LiveRounds, "rounds of the live load (a point of each key of each run)")
	f.IntVar(&c.LiveWriters, "live-writers", c.LiveWriters, "concurrent writers of the live load")
	f.IntVar(&c.Repeat, "repeat", c.Repeat, "repetitions of each timing; medians are reported")
	f.StringSliceVar(&only, "only", nil, "run only these, comma-separated: size, runs, series, live")
	return cmd
}
