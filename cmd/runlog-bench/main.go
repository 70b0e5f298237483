// Command runlog-bench runs runlog's benchmarks and prints the tables of
// docs/benchmarks.md. See `runlog-bench --help`; scripts/bench.sh runs
// them all.
package main

import (
	"os"

	"github.com/runlog/runlog/internal/bench"
)

func main() { os.Exit(bench.Main(os.Args[1:])) }
