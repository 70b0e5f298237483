package bench

import (
	"io"

	"github.com/spf13/cobra"

	"github.com/runlog/runlog/internal/bench/manykeysbench"
)

func newManyKeys(stdout, stderr io.Writer) *cobra.Command {
	c := manykeysbench.Default
	cmd := &cobra.Command{
		Use:   "manykeys",
		Short: "One run with 1 M metric keys: runlog index, the runs list, runlog ls, 8 clients browsing it (~3 min)",
		Long: `Measure runlog against issue 12's goals for one run with very many metric
keys: 1,000 steps each logging 1,000 keys never logged before
(layer0001/param0042/grad_norm…), 1 M series in all, and train_loss. It writes
a home of 20 ordinary runs (train_loss, val_loss, lr) and a copy of it that
also holds that run, with the Go client, then measures whole runlog processes
(--runlog, default bin/runlog). One table:

  index     runlog index of the many-keys run (goal ≤ 10 s) and its peak RSS,
            beside indexing the 20 ordinary runs
  runs      GET /api/v1/runs on runlog ui, home with the run against home
            without it (goal ≤ 2×)
  detail    GET /api/v1/runs/{id} of the run, one client, beside an ordinary
            run
  browse    8 clients browsing the run as the web UI does — the runs list,
            the run with its first page of series, a later page
            (series_after), a search of its series (series_q), a series —
            for 20 s or 50 rounds each: latency (median, p95, max) and bytes
            of each request, beside the same browsing of an ordinary run
  memory    the server's peak RSS while they browse (goal < 1 GB): VmHWM of
            /proc/<pid>/status, sampled, and the rusage at exit (n/a where
            neither exists)
  ls        runlog ls, home with the run against home without it (goal ≤ 2×)

At the default sizes it takes about 3 minutes on a 2-core machine once the
server is fast (longer while a request takes seconds: a round once begun is
finished) and about 1 GB of scratch space; --steps 200 --keys-per-step 500
takes about a minute.`,
		Example: `  runlog-bench manykeys --runlog bin/runlog
  runlog-bench manykeys --steps 200 --keys-per-step 500 --duration 10s   # a quick look`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c.Out, c.Log = stdout, stderr
			_, err := manykeysbench.Run(cmd.Context(), c)
			return err
		},
	}
	f := cmd.Flags()
	f.StringVar(&c.Runlog, "runlog", c.Runlog, "the runlog binary")
	f.StringVar(&c.Dir, "dir", "", "folder to make the scratch folder in (default: the system's temporary folder)")
	f.BoolVar(&c.Keep, "keep", false, "keep the scratch folder")
	f.IntVar(&c.Steps, "steps", c.Steps, "steps of every run")
	f.IntVar(&c.KeysPerStep, "keys-per-step", c.KeysPerStep, "new keys the many-keys run logs at each step, besides train_loss")
	f.IntVar(&c.Runs, "runs", c.Runs, "ordinary runs in both homes")
	f.IntVar(&c.Clients, "clients", c.Clients, "clients browsing the run at once")
	f.DurationVar(&c.Duration, "duration", c.Duration, "how long the clients browse (a round once begun is finished)")
	f.IntVar(&c.Rounds, "rounds", c.Rounds, "most rounds of browsing per client")
	f.IntVar(&c.Repeat, "repeat", c.Repeat, "repetitions of the single-request and runlog ls timings; medians are reported")
	return cmd
}
