// Command runlog-compatbench measures how fast runlog takes data from the
// tools people already use, and prints tables for the docs:
//
//   - log_batch throughput of the unmodified MLflow client, 20 processes at
//     once, against runlog's MLflow API (served by this command) and, in the
//     same run, against MLflow's own server with its SQLite backend, and
//     against a server that discards everything (what the client alone can
//     send on this machine);
//   - `runlog import tensorboard` speed on a large event file it writes.
//
// The MLflow part needs a Python with the mlflow package installed (the
// full package, for `mlflow server`):
//
//	python3 -m venv /tmp/mlflow-bench && /tmp/mlflow-bench/bin/pip install mlflow==3.17.2
//	go run ./cmd/runlog-compatbench -python /tmp/mlflow-bench/bin/python
package main

import (
	"flag"
	"fmt"
	"os"
	"runtime/pprof"
)

func main() {
	python := flag.String("python", "", "Python with the mlflow package (the MLflow benchmark is skipped without it)")
	clients := flag.Int("clients", 20, "concurrent MLflow clients")
	seconds := flag.Float64("seconds", 20, "how long each MLflow target is loaded")
	batch := flag.Int("batch", 1000, "metrics per log_batch call")
	noMLflowServer := flag.Bool("no-mlflow-server", false, "skip MLflow's own server")
	points := flag.Int("tb-points", 20_000_000, "scalars in the TensorBoard event file")
	tbOnly := flag.Bool("tb-only", false, "run only the TensorBoard import benchmark")
	mlflowOnly := flag.Bool("mlflow-only", false, "run only the MLflow benchmark")
	tbPython := flag.String("tb-python", "", "Python with the tensorboard package, to time TensorBoard's own loader")
	cpuprofile := flag.String("cpuprofile", "", "write a CPU profile of this process to the file")
	flag.Parse()
	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err != nil {
			fatal(err)
		}
		pprof.StartCPUProfile(f)
		defer pprof.StopCPUProfile()
	}

	work, err := os.MkdirTemp("", "runlog-compatbench")
	if err != nil {
		fatal(err)
	}
	defer os.RemoveAll(work)

	if !*tbOnly {
		if *python == "" {
			fmt.Println("MLflow log_batch: skipped (no -python with mlflow installed)")
		} else {
			rows, err := benchMLflow(work, *python, *clients, *seconds, *batch, !*noMLflowServer)
			if err != nil {
				fatal(err)
			}
			printMLflow(rows, *clients, *batch, *seconds)
		}
	}
	if !*mlflowOnly {
		rows, err := benchTensorBoard(work, *points, *tbPython)
		if err != nil {
			fatal(err)
		}
		printTensorBoard(rows)
	}
}

func fatal(err error) {
	fmt.Fprintf(os.Stderr, "runlog-compatbench: %v\n", err)
	os.Exit(1)
}
