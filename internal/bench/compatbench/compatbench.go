// Package compatbench measures how fast runlog takes data from the tools
// people already use, and prints tables for the docs. `runlog-bench compat`
// runs it.
//
//   - log_batch throughput of the unmodified MLflow client, 20 processes at
//     once, against runlog's MLflow API (served by this process) and, in the
//     same run, against MLflow's own server with its SQLite backend, and
//     against a server that discards everything (what the client alone can
//     send on this machine);
//   - `runlog import tensorboard` speed on a large event file it writes.
//
// The MLflow part needs a Python with the mlflow package installed (the
// full package, for `mlflow server`):
//
//	python3 -m venv /tmp/mlflow-bench && /tmp/mlflow-bench/bin/pip install mlflow==3.17.2
//	runlog-bench compat --python /tmp/mlflow-bench/bin/python
package compatbench

import (
	"context"
	"fmt"
	"io"
	"os"
)

// Config sizes the benchmark and says which parts run.
type Config struct {
	Dir            string // scratch folder; removed afterwards unless Keep
	Keep           bool
	Python         string  // Python with the mlflow package; none skips the MLflow benchmark
	Clients        int     // concurrent MLflow clients
	Seconds        float64 // how long each MLflow target is loaded
	Batch          int     // metrics per log_batch call
	NoMLflowServer bool    // skip MLflow's own server
	TBPoints       int     // scalars in the TensorBoard event file
	TBOnly         bool    // run only the TensorBoard import benchmark
	MLflowOnly     bool    // run only the MLflow benchmark
	TBPython       string  // Python with the tensorboard package, to time TensorBoard's own loader
	Out            io.Writer
	Log            io.Writer // failed calls and skipped parts
}

// Default is the configuration of the published tables.
var Default = Config{Clients: 20, Seconds: 20, Batch: 1000, TBPoints: 20_000_000}

// Run runs the parts c asks for and prints their tables to c.Out.
func Run(ctx context.Context, c Config) error {
	if c.Out == nil {
		c.Out = io.Discard
	}
	if c.Log == nil {
		c.Log = io.Discard
	}
	work, err := os.MkdirTemp(c.Dir, "runlog-bench-compat-*")
	if err != nil {
		return err
	}
	if !c.Keep {
		defer os.RemoveAll(work)
	}
	if !c.TBOnly {
		if c.Python == "" {
			fmt.Fprintln(c.Out, "MLflow log_batch: skipped (no --python with mlflow installed)")
		} else {
			rows, err := benchMLflow(ctx, c, work)
			if err != nil {
				return err
			}
			printMLflow(c.Out, rows, c.Clients, c.Batch, c.Seconds)
		}
	}
	if !c.MLflowOnly {
		rows, err := benchTensorBoard(ctx, c, work)
		if err != nil {
			return err
		}
		printTensorBoard(c.Out, rows)
	}
	return nil
}
