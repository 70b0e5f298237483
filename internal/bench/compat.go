package bench

import (
	"io"

	"github.com/spf13/cobra"

	"github.com/runlog/runlog/internal/bench/compatbench"
)

func newCompat(stdout, stderr io.Writer) *cobra.Command {
	c := compatbench.Default
	cmd := &cobra.Command{
		Use:   "compat",
		Short: "MLflow log_batch against runlog's MLflow API and mlflow server; TensorBoard import (~30 s, ~3 min with --python)",
		Long: `Measure how fast runlog takes data from the tools people already use. Two
tables:

  MLflow       log_batch throughput of the unmodified MLflow client, 20
               processes at once, against runlog's MLflow API (served by this
               process), against MLflow's own server with its SQLite backend
               and against a server that discards everything (the client's own
               limit); then the same requests from Go goroutines, what each
               server can take. Needs --python, a Python with the mlflow
               package (the full package, for mlflow server); skipped without.
  TensorBoard  runlog import tensorboard on an event file of 20 M scalars:
               reading and decoding, writing run.log, indexing, end to end;
               with --tb-python, TensorBoard's own loader on its first 150 MB.

The TensorBoard part takes about 30 s on a 2-core machine and about 1 GB of
scratch space; the MLflow part about 2.5 minutes more (--seconds per target,
five targets, and the start of mlflow server).`,
		Example: `  python3 -m venv /tmp/mlflow-bench && /tmp/mlflow-bench/bin/pip install mlflow==3.17.2 tensorboard
  runlog-bench compat --python /tmp/mlflow-bench/bin/python --tb-python /tmp/mlflow-bench/bin/python
  runlog-bench compat --tb-only --tb-points 2000000   # a quick look`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c.Out, c.Log = stdout, stderr
			return compatbench.Run(cmd.Context(), c)
		},
	}
	f := cmd.Flags()
	f.StringVar(&c.Dir, "dir", "", "scratch folder (default: the system's temporary folder)")
	f.BoolVar(&c.Keep, "keep", false, "keep the scratch folder")
	f.StringVar(&c.Python, "python", "", "Python with the mlflow package (the MLflow benchmark is skipped without it)")
	f.IntVar(&c.Clients, "clients", c.Clients, "concurrent MLflow clients")
	f.Float64Var(&c.Seconds, "seconds", c.Seconds, "how long each MLflow target is loaded")
	f.IntVar(&c.Batch, "batch", c.Batch, "metrics per log_batch call")
	f.BoolVar(&c.NoMLflowServer, "no-mlflow-server", false, "skip MLflow's own server")
	f.IntVar(&c.TBPoints, "tb-points", c.TBPoints, "scalars in the TensorBoard event file")
	f.BoolVar(&c.TBOnly, "tb-only", false, "run only the TensorBoard import benchmark")
	f.BoolVar(&c.MLflowOnly, "mlflow-only", false, "run only the MLflow benchmark")
	f.StringVar(&c.TBPython, "tb-python", "", "Python with the tensorboard package, to time TensorBoard's own loader")
	return cmd
}
