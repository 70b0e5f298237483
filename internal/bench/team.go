package bench

import (
	"io"

	"github.com/spf13/cobra"

	"github.com/runlog/runlog/internal/bench/teambench"
)

func newTeam(stdout, stderr io.Writer) *cobra.Command {
	c := teambench.Default
	cmd := &cobra.Command{
		Use:   "team",
		Short: "20 Go clients streaming through nginx to two runlog server replicas into PostgreSQL, beside mlflow server (~1-2 min); --live: issue 17's live load, ack latency and PostgreSQL's size (~6.5 min)",
		Long: `Measure the team server's ingest (docs/team-server.md): Go clients stream
runs through nginx (round robin) to two runlog server replicas on one
PostgreSQL; the time runs from the clients' start until every client's log
is acknowledged, which on a team server means stored and indexed in
PostgreSQL (the points are then counted there). The reference, in the same
run: mlflow server on a database of the same PostgreSQL, the same number of
clients each sending log-batch requests of 1,000 metrics for --mlflow-for.

nginx must be installed (apt-get install nginx). PostgreSQL: --dsn, or a
throwaway cluster started with initdb. mlflow server: --mlflow names the
program of a venv with pip install mlflow psycopg2-binary; without one the
reference is left out and the table says so.

--live measures instead issue 17's live load: --live-runs runs (1,000),
each a goroutine sending, --live-hz times a second (1) for --live-seconds
(300), a batch holding one point of each of its --live-keys keys (100),
encoded as the Go client encodes its log (runfmt) and sent with its ingest
client (internal/remote) through nginx to the two replicas, the runs out of
step with one another. It records every acknowledgment's latency (send to
200: the batch committed and indexed in PostgreSQL) and prints the
requests, points, acknowledged points/s, latency p50/p90/p99/max and the
failed requests by status; then PostgreSQL's size: the database, the
store's point tables (series, chunks, tail) and the clients' logs
(log_segments), beside the encoded points and the same points in full
chunks, and the CPU time a request took in the replicas, nginx and
PostgreSQL. At the default size it takes about 6.5 minutes on a 2-core
machine: the 5 minutes of the load, the backlog the runs then still send
(on a shared 2-core machine p99 stayed under 1 s up to about 75 runs,
not 1,000: beyond, batches wait and grow), and a minute to read every
series back.`,
		Example: `  runlog-bench team --mlflow /tmp/mlvenv/bin/mlflow
  runlog-bench team --clients 4 --steps 200 --repeat 1 --mlflow -   # a quick look
  runlog-bench team --live                                           # issue 17's live load
  runlog-bench team --live --live-runs 100 --live-seconds 60         # a quick look`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c.Out, c.Log = stdout, stderr
			return teambench.Run(cmd.Context(), c)
		},
	}
	f := cmd.Flags()
	f.StringVar(&c.DSN, "dsn", "", "a PostgreSQL server to use (default: start a throwaway one with initdb)")
	f.IntVar(&c.Clients, "clients", c.Clients, "Go clients streaming at once")
	f.IntVar(&c.Keys, "keys", c.Keys, "keys each client logs at every step")
	f.IntVar(&c.Steps, "steps", c.Steps, "steps each client logs")
	f.IntVar(&c.Repeat, "repeat", c.Repeat, "repetitions of the runlog side; the median is reported")
	f.StringVar(&c.MLflow, "mlflow", "", "the mlflow program of an installation with its server (default: mlflow on PATH; - for none)")
	f.DurationVar(&c.MLflowFor, "mlflow-for", c.MLflowFor, "how long the clients send log-batch requests to mlflow server")
	f.BoolVar(&c.Live, "live", false, "run the live load instead: ack latency of runs logging at --live-hz, and PostgreSQL's size")
	f.IntVar(&c.LiveRuns, "live-runs", c.LiveRuns, "runs of the live load, each sending its batches at once")
	f.IntVar(&c.LiveKeys, "live-keys", c.LiveKeys, "keys of each run of the live load: a point of each in every batch")
	f.IntVar(&c.LiveSeconds, "live-seconds", c.LiveSeconds, "how long each run of the live load logs")
	f.Float64Var(&c.LiveHz, "live-hz", c.LiveHz, "batches a run of the live load sends a second")
	return cmd
}
