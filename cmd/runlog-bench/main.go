// Command runlog-bench measures runlog's storage against its goals and
// prints one table. Run it with scripts/bench.sh.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"strings"

	"github.com/runlog/runlog/internal/bench"
)

func main() {
	c := bench.Default
	flag.StringVar(&c.Dir, "dir", "", "scratch folder (default: the system's temporary folder)")
	flag.StringVar(&c.Runlog, "runlog", "", "the runlog binary, for `runlog ls` as a whole process")
	flag.IntVar(&c.Points, "points", c.Points, "points of the ingest benchmark")
	flag.IntVar(&c.Series, "series", c.Series, "series of the ingest benchmark")
	flag.IntVar(&c.LsRuns, "runs", c.LsRuns, "runs for the ls benchmark")
	flag.IntVar(&c.Repeat, "repeat", c.Repeat, "repetitions; medians are reported")
	flag.BoolVar(&c.Keep, "keep", false, "keep the scratch folder")
	flag.StringVar(&c.TinyLM, "tinylm", "", "the tiny LM binary, to measure the overhead of runlog run on it")
	flag.IntVar(&c.TinyLMSteps, "tinylm-steps", c.TinyLMSteps, "steps of each tiny LM run")
	only := flag.String("only", "", "run only these benchmarks, comma-separated: ingest, size, log, ls, runner")
	flag.Parse()
	if *only != "" {
		c.Only = strings.Split(*only, ",")
	}
	c.Out, c.Log = os.Stdout, os.Stderr
	if _, err := bench.Run(context.Background(), c); err != nil {
		fmt.Fprintln(os.Stderr, "runlog-bench:", err)
		os.Exit(1)
	}
}
